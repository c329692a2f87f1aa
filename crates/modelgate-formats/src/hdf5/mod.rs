//! A minimal, read-only, bounded HDF5 reader: enough of the format to read what Keras and
//! h5py write (the group tree, attributes with string and numeric values, dataset shapes,
//! and the contents of byte-like datasets) without libhdf5 and without trusting a single
//! length or address in the file.
//!
//! Covered: superblock versions 0-3 (also after a user block at 512, 1024, 2048, ...),
//! object headers versions 1 and 2 with continuation blocks, old-style groups (symbol table:
//! version-1 B-tree, symbol nodes and local heap, soft links), new-style groups with compact
//! (link messages) and dense storage (fractal heaps: direct and indirect blocks, deflate
//! filtered blocks, managed, huge and tiny objects), attributes compact and dense (message
//! versions 1-3), shared object header messages (in another object header, e.g. a committed
//! datatype, or in the shared-message table named by the superblock extension), datatypes
//! integer, float, fixed and variable-length strings (global heap), opaque, arrays of those.
//!
//! Dataset raw data is read only for byte-like datasets (1-byte integers, strings, opaque,
//! variable-length sequences and arrays of those; see [`DatasetData`] for the policy and
//! budgets), never for numeric ones: compact, contiguous and chunked layouts (layout message
//! versions 1-5), chunk indexes version-1 B-tree, single chunk, implicit, fixed array
//! (unpaged), extensible array (unpaged, first dimension unlimited) and version-2 B-tree,
//! with the deflate, shuffle and Fletcher-32 filters undone.
//!
//! Not read (reported as [`Issue`]s, never skipped silently): user-defined links, virtual
//! datasets, chunks compressed with other filters (szip, lzf, blosc, zstd, ...), paged fixed
//! and extensible arrays, extensible-array indexes whose unlimited dimension is not the
//! first. Checksums are verified for version-2/3 superblocks and object header chunks (a
//! mismatch is an [`Issue`]), not for heap, B-tree, array and chunk blocks.
//!
//! Every count, size, depth and visit is bounded by [`Limits`]; cycles in the object graph,
//! continuation chains and chunk B-trees are detected, chains of shared messages bounded;
//! everything decompressed counts against one file-wide budget. Malformed structures become
//! [`Issue`]s on the object where they occur, and only an unreadable superblock fails the
//! whole parse.

mod attribute;
mod btree_v2;
mod checksum;
mod cursor;
mod dataset;
mod datatype;
mod filters;
mod fractal_heap;
mod global_heap;
mod links;
mod object_header;
mod shared;
mod superblock;
mod symbol_table;
mod walk;

pub use attribute::{Attribute, Value};
pub use datatype::Datatype;
pub use superblock::{SIGNATURE, find_superblock};

/// The [`Error::Limit`] for a byte or opaque dataset larger than
/// [`Limits::max_dataset_bytes`]: its start was read (a payload is recognised by its leading
/// bytes), the rest was not. Unlike the other limits this loses little: callers may report
/// it as information rather than as an incomplete scan.
pub const BYTE_DATASET_PREFIX: &str = "bytes read of one byte dataset (its start is searched)";

/// Why a structure could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("truncated {what} at {at:#x}")]
    Truncated { at: u64, what: &'static str },
    #[error("invalid {what} (at {at:#x})")]
    Invalid { at: u64, what: String },
    #[error("{what} exceeds the limit of {limit}")]
    Limit { what: &'static str, limit: u64 },
    #[error("{what} (at {at:#x}) is not read by this reader")]
    Unsupported { at: u64, what: String },
}

impl Error {
    /// Whether this is a budget hit (the file may be fine, but was not fully read).
    pub fn is_limit(&self) -> bool {
        matches!(self, Error::Limit { .. })
    }

    /// Absolute file offset the problem was found at, when there is one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Error::Truncated { at, .. }
            | Error::Invalid { at, .. }
            | Error::Unsupported { at, .. } => Some(*at),
            Error::Limit { .. } => None,
        }
    }

    /// Whether this is a structure the reader does not implement.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, Error::Unsupported { .. })
    }
}

/// Budgets for one file.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most objects (groups, datasets) visited.
    pub max_objects: usize,
    /// Deepest group nesting.
    pub max_depth: usize,
    /// Most header messages read per object (across continuation blocks).
    pub max_messages: usize,
    /// Most continuation blocks per object header.
    pub max_continuations: usize,
    /// Most attributes decoded per object.
    pub max_attributes: usize,
    /// Most elements decoded per attribute.
    pub max_elements: u64,
    /// Total attribute value bytes decoded for the file.
    pub max_value_bytes: u64,
    /// Most B-tree nodes visited for the file.
    pub max_btree_nodes: usize,
    /// Most issues recorded.
    pub max_issues: usize,
    /// Largest decompression ratio accepted for a filtered block (deflate's own maximum
    /// is about 1032:1).
    pub max_ratio: u64,
    /// Most bytes of one dataset read (only byte, string and opaque datasets are read;
    /// a larger one is read up to here and reported).
    pub max_dataset_bytes: u64,
    /// Most dataset bytes read for the file.
    pub max_data_bytes: u64,
    /// Most bytes decompressed for the file (dataset chunks, filtered heap blocks and
    /// huge heap objects together).
    pub max_decoded_bytes: u64,
    /// Deepest chain of shared messages followed (a shared message naming another
    /// object header whose message is shared again).
    pub max_shared_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_objects: 100_000,
            max_depth: 64,
            max_messages: 65_536,
            max_continuations: 1024,
            max_attributes: 4096,
            max_elements: 1 << 20,
            max_value_bytes: 256 << 20,
            max_btree_nodes: 100_000,
            max_issues: 256,
            max_ratio: 1100,
            max_dataset_bytes: 16 << 20,
            max_data_bytes: 64 << 20,
            max_decoded_bytes: 512 << 20,
            max_shared_depth: 4,
        }
    }
}

/// What an object is, from its header messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectKind {
    Group,
    /// A dataset: its shape (empty for a scalar) and element type.
    Dataset {
        shape: Vec<u64>,
        datatype: Option<Datatype>,
    },
    /// A committed (named) datatype.
    NamedDatatype,
    Other,
}

/// A link that is not a hard link: a soft link (path in this file) or an external link
/// (file name and path in that file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherLink {
    pub name: String,
    pub external_file: Option<String>,
    pub target: String,
}

/// One object of the group tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Path from the root group (`/`, `/model_weights/dense`).
    pub path: String,
    /// Address of its object header (relative to the base address).
    pub address: u64,
    pub kind: ObjectKind,
    pub attributes: Vec<Attribute>,
    pub other_links: Vec<OtherLink>,
    /// The contents of a dataset whose elements are bytes, strings or opaque data (see
    /// [`DatasetData`]); `None` for numeric datasets and everything else.
    pub data: Option<DatasetData>,
}

/// The raw contents of a byte-like dataset.
///
/// Read policy: only datasets whose element type is a 1-byte integer, a fixed or
/// variable-length string, opaque data, a variable-length sequence or an array of those
/// are read (that is where a payload can be stored as data); numeric datasets (weights) are
/// never read. At most [`Limits::max_dataset_bytes`] per dataset and
/// [`Limits::max_data_bytes`] per file are read, row-major from the start; a dataset cut
/// short is reported as a limit [`Issue`].
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetData {
    /// `Bytes` for byte and opaque elements (all elements, concatenated), `Strings` for
    /// string and variable-length elements (one per element).
    pub value: Value,
    /// Absolute file position of the data (or of its first chunk).
    pub at: u64,
    /// Whether only a prefix was read (the dataset is larger than the budget).
    pub truncated: bool,
}

impl Object {
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

/// Something that could not be read, or was not read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Object path the problem belongs to.
    pub path: String,
    pub error: Error,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.error)
    }
}

/// A second hard link to an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    pub path: String,
    /// The path the object was first reached by.
    pub target: String,
    /// The link points back at one of its own ancestors (a loop in the group graph; legal
    /// in HDF5, never followed here).
    pub cycle: bool,
}

/// A parsed file.
#[derive(Debug, Clone, PartialEq)]
pub struct Hdf5File {
    /// Superblock version (0-3).
    pub version: u8,
    /// Absolute position of the superblock: the size of the user block before it.
    pub superblock_offset: u64,
    pub offset_size: u8,
    pub length_size: u8,
    /// End-of-file address recorded in the superblock (relative).
    pub end_of_file: Option<u64>,
    /// Objects in walk order (the root group first).
    pub objects: Vec<Object>,
    /// Hard links to an object already visited under another path (not walked again).
    pub aliases: Vec<Alias>,
    pub issues: Vec<Issue>,
}

impl Hdf5File {
    pub fn root(&self) -> Option<&Object> {
        self.objects.first()
    }
}

/// Parse an HDF5 file. Fails only when no readable superblock is found; every later problem
/// is an [`Issue`] and the rest of the file is still read.
pub fn parse(data: &[u8], limits: &Limits) -> Result<Hdf5File, Error> {
    let sb = superblock::read(data)?;
    Ok(walk::walk(data, &sb, limits))
}

#[cfg(test)]
mod tests;
