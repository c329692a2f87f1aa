//! One module per subcommand.
pub mod convert;
pub mod data;
pub mod graph;
pub mod keygen;
pub mod sign;
pub mod verify;
pub mod rules;
pub mod scan;
pub mod gate;
pub mod bom;
