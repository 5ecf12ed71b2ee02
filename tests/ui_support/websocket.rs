//! A minimal synchronous WebSocket client (RFC 6455), enough to talk to Chromium's DevTools
//! endpoint: the opening handshake, masked text frames out, text frames in (fragmented or
//! not), pings answered. No TLS, no extensions; every read has a timeout and a size limit.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The largest message accepted (a full-page screenshot in base64 is a few MiB).
const MAX_MESSAGE: usize = 64 << 20;

/// One open connection.
pub(crate) struct WebSocket {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl WebSocket {
    /// Connects to `url` (`ws://host:port/path`) and completes the handshake.
    pub(crate) fn connect(url: &str) -> WebSocket {
        let rest = url.strip_prefix("ws://").expect("a ws:// URL");
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let stream = TcpStream::connect(host).expect("connect to the DevTools endpoint");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut writer = stream.try_clone().unwrap();
        write!(
            writer,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .unwrap();
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert!(status.contains(" 101 "), "handshake refused: {status}");
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        WebSocket { reader, writer }
    }

    /// Sends `text` as one masked text frame.
    pub(crate) fn send(&mut self, text: &str) {
        let payload = text.as_bytes();
        let mut frame = vec![0x81u8];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n <= 0xffff => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = [0x37u8, 0xfa, 0x21, 0x3d];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.writer.write_all(&frame).unwrap();
    }

    /// The next text message; pings are answered on the way.
    pub(crate) fn receive(&mut self) -> String {
        let mut message = Vec::new();
        loop {
            let (fin, opcode, payload) = self.frame();
            match opcode {
                0x0 | 0x1 => {
                    message.extend_from_slice(&payload);
                    assert!(
                        message.len() <= MAX_MESSAGE,
                        "message over {MAX_MESSAGE} bytes"
                    );
                    if fin {
                        return String::from_utf8(message).expect("UTF-8 text");
                    }
                }
                0x8 => panic!("the browser closed the DevTools connection"),
                0x9 => self.pong(&payload),
                _ => {}
            }
        }
    }

    /// One frame: (FIN, opcode, payload).
    fn frame(&mut self) -> (bool, u8, Vec<u8>) {
        let mut head = [0u8; 2];
        self.reader.read_exact(&mut head).expect("a frame");
        let len = match head[1] & 0x7f {
            126 => u64::from(u16::from_be_bytes(self.bytes())),
            127 => u64::from_be_bytes(self.bytes()),
            n => u64::from(n),
        };
        let len = usize::try_from(len).unwrap();
        assert!(len <= MAX_MESSAGE, "frame of {len} bytes");
        let mask: Option<[u8; 4]> = (head[1] & 0x80 != 0).then(|| self.bytes());
        let mut payload = vec![0u8; len];
        self.reader
            .read_exact(&mut payload)
            .expect("a frame's payload");
        if let Some(mask) = mask {
            payload
                .iter_mut()
                .enumerate()
                .for_each(|(i, b)| *b ^= mask[i % 4]);
        }
        (head[0] & 0x80 != 0, head[0] & 0x0f, payload)
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut buf = [0u8; N];
        self.reader.read_exact(&mut buf).expect("a frame's header");
        buf
    }

    fn pong(&mut self, payload: &[u8]) {
        let mask = [0u8; 4];
        let mut frame = vec![0x8a, 0x80 | payload.len().min(125) as u8];
        frame.extend_from_slice(&mask);
        frame.extend_from_slice(&payload[..payload.len().min(125)]);
        self.writer.write_all(&frame).unwrap();
    }
}
