//! Virtual paths: the chain from a file on disk into nested containers and byte offsets.
//!
//! Rendered as `model.pt!archive/data.pkl@0x1f3`: `!` enters a container member, `@` is a
//! byte offset inside the innermost member.

use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A location inside possibly nested containers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub struct VirtualPath {
    /// The file as reached from the scan argument, then each container member.
    pub segments: Vec<String>,
    /// Byte offset inside the innermost segment, when the finding points at one.
    pub offset: Option<u64>,
}

impl VirtualPath {
    pub fn file(path: impl Into<String>) -> Self {
        VirtualPath {
            segments: vec![path.into()],
            offset: None,
        }
    }

    /// The path of a member inside this one (drops any offset).
    pub fn join(&self, member: impl Into<String>) -> Self {
        let mut segments = self.segments.clone();
        segments.push(member.into());
        VirtualPath {
            segments,
            offset: None,
        }
    }

    /// The same path pointing at a byte offset.
    pub fn at(&self, offset: u64) -> Self {
        VirtualPath {
            segments: self.segments.clone(),
            offset: Some(offset),
        }
    }

    /// The outermost segment: the file on disk.
    pub fn root(&self) -> &str {
        self.segments.first().map(String::as_str).unwrap_or("")
    }

    /// Depth of container nesting (0 for a plain file).
    pub fn depth(&self) -> usize {
        self.segments.len().saturating_sub(1)
    }

    /// The path without its offset.
    pub fn without_offset(&self) -> Self {
        VirtualPath {
            segments: self.segments.clone(),
            offset: None,
        }
    }
}

impl fmt::Display for VirtualPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str("!")?;
            }
            f.write_str(s)?;
        }
        if let Some(off) = self.offset {
            write!(f, "@{off:#x}")?;
        }
        Ok(())
    }
}

impl Serialize for VirtualPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_chain_and_offset() {
        let p = VirtualPath::file("model.pt")
            .join("archive/data.pkl")
            .at(0x1f3);
        assert_eq!(p.to_string(), "model.pt!archive/data.pkl@0x1f3");
        assert_eq!(p.depth(), 1);
        assert_eq!(p.root(), "model.pt");
        assert_eq!(p.without_offset().to_string(), "model.pt!archive/data.pkl");
    }
}
