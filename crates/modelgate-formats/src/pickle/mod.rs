//! Pickle: opcode table, disassembler and a symbolic (non-executing) stack machine.

pub mod disasm;
pub mod memo;
pub mod opcodes;
pub mod pyint;
pub mod resolve;
pub mod symbolic;
pub mod text;
pub mod value;

pub use disasm::{Arg, DisasmError, Disassembler, Op};
pub use opcodes::Opcode;
pub use symbolic::{Event, EventKind, Program, StreamEnd, run_stream};
pub use value::{Value, ValueId, Values};
