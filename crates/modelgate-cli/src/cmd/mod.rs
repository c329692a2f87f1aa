//! One module per subcommand.
pub mod bom;
pub mod convert;
pub mod data;
pub mod gate;
pub mod graph;
pub mod keygen;
pub mod rules;
pub mod scan;
pub mod sign;
pub mod verify;
