//! One module per subcommand.
pub mod keygen;
pub mod sign;
pub mod verify;
pub mod data;
