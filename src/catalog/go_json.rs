//! Go's `encoding/json` rule for decoding objects, written once: a key matches a field name
//! case-insensitively, and unknown keys are skipped. Each type lists its field names and says
//! how to read the value of each ([`GoObject`]); [`deserialize`] does the rest.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::{IgnoredAny, MapAccess, Visitor};

/// A struct decoded from a JSON object the way Go decodes it.
pub(crate) trait GoObject: Default {
    /// What the object is, for error messages (`a port object`).
    const EXPECTING: &'static str;
    /// The Go field names, in the order [`GoObject::read`] numbers them.
    const FIELDS: &'static [&'static str];
    /// Reads the value of field number `index` of [`GoObject::FIELDS`] from `map`.
    fn read<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error>;
}

/// Decodes a `T` from a JSON object: keys matched case-insensitively, unknown keys skipped.
pub(crate) fn deserialize<'de, D: Deserializer<'de>, T: GoObject>(d: D) -> Result<T, D::Error> {
    d.deserialize_map(ObjectVisitor(PhantomData))
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: GoObject> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut value = T::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match T::FIELDS.iter().position(|n| n.eq_ignore_ascii_case(&key)) {
                Some(index) => value.read(index, &mut map)?,
                None => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        Ok(value)
    }
}
