//! `ZIP`/`ARC`/`NPY`/`TCH`: containers and the structure around pickles.

pub mod crc_mismatch;
pub mod header_mismatch;
pub mod hidden_entry;
pub mod link;
pub mod npy_object;
pub mod overlap;
pub mod path_traversal;
pub mod polyglot;
pub mod prepended;
pub mod torchscript_code;
pub mod unreadable;
