//! [`WatchDecoder`]: the documents of another node's `/api/watch?by_service=false` stream
//! (whole states, concatenated without a separator), from bytes as they arrive.
//!
//! Pure: fed bytes, returns what became complete. Bounded: a document larger than the limit
//! is an error (the follower reconnects).

use crate::catalog::ServicesState;

/// Why the stream cannot be decoded further.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WatchStreamError {
    /// A document grew past the limit without ending.
    #[error("a watch document is larger than {0} bytes")]
    TooLarge(usize),
    /// Bytes that are not a state document.
    #[error("the watch stream is not a stream of states: {0}")]
    Malformed(String),
}

/// See the [module docs](self).
#[derive(Debug)]
pub struct WatchDecoder {
    pending: Vec<u8>,
    limit: usize,
}

impl WatchDecoder {
    /// A decoder holding at most `limit` bytes of an unfinished document.
    pub fn new(limit: usize) -> WatchDecoder {
        WatchDecoder {
            pending: Vec::new(),
            limit,
        }
    }

    /// Adds `bytes`; returns every document they completed, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<ServicesState>, WatchStreamError> {
        self.pending.extend_from_slice(bytes);
        let mut documents = Vec::new();
        let mut consumed = 0;
        {
            let mut stream =
                serde_json::Deserializer::from_slice(&self.pending).into_iter::<ServicesState>();
            loop {
                match stream.next() {
                    Some(Ok(state)) => {
                        documents.push(state);
                        consumed = stream.byte_offset();
                    }
                    Some(Err(e)) if e.is_eof() => break,
                    Some(Err(e)) => return Err(WatchStreamError::Malformed(e.to_string())),
                    None => {
                        consumed = stream.byte_offset();
                        break;
                    }
                }
            }
        }
        self.pending.drain(..consumed);
        if self.pending.len() > self.limit {
            return Err(WatchStreamError::TooLarge(self.limit));
        }
        Ok(documents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(hostname: &str) -> Vec<u8> {
        serde_json::to_vec(&ServicesState::new(hostname, "default")).unwrap()
    }

    #[test]
    fn documents_split_anywhere_are_decoded_once_complete() {
        let mut bytes = state("a");
        bytes.extend(state("b"));
        let mut decoder = WatchDecoder::new(1 << 20);
        let (head, tail) = bytes.split_at(bytes.len() / 2 + 3);
        let first = decoder.push(head).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].hostname, "a");
        let second = decoder.push(tail).unwrap();
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].hostname, "b");
        assert_eq!(decoder.push(b"").unwrap(), Vec::new());
    }

    #[test]
    fn a_document_beyond_the_limit_or_garbage_is_an_error() {
        let mut decoder = WatchDecoder::new(16);
        let bytes = state("a-rather-long-host-name");
        let err = decoder.push(&bytes[..bytes.len() - 1]).unwrap_err();
        assert_eq!(err, WatchStreamError::TooLarge(16));
        let mut decoder = WatchDecoder::new(1024);
        assert!(matches!(
            decoder.push(b"<html>"),
            Err(WatchStreamError::Malformed(_))
        ));
    }
}
