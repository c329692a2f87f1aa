//! The pickle opcode table (protocols 0-5), transcribed from the facts in CPython's
//! `pickletools` documentation: byte, name, argument encoding and the protocol that
//! introduced each opcode.

/// How an opcode's inline argument is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    None,
    /// 1-byte unsigned.
    U1,
    /// 2-byte little-endian unsigned.
    U2,
    /// 4-byte little-endian unsigned.
    U4,
    /// 4-byte little-endian signed.
    I4,
    /// 8-byte little-endian unsigned.
    U8,
    /// 8-byte big-endian IEEE double.
    F8,
    /// 1-byte length then little-endian two's-complement integer bytes.
    Long1,
    /// 4-byte signed length then integer bytes.
    Long4,
    /// 1-byte length then bytes (str for text opcodes).
    Bytes1,
    /// 4-byte length (signed for BINSTRING, unsigned otherwise) then bytes.
    Bytes4,
    /// 8-byte length then bytes.
    Bytes8,
    /// Newline-terminated decimal (`INT`, `GET`, `PUT`); `00`/`01` are False/True for INT.
    DecimalNl,
    /// Newline-terminated decimal with optional `L` suffix.
    LongNl,
    /// Newline-terminated float repr.
    FloatNl,
    /// Newline-terminated quoted, escaped string (protocol 0 `STRING`).
    QuotedNl,
    /// Newline-terminated raw-unicode-escape string (`UNICODE`).
    UnicodeNl,
    /// Newline-terminated string without escapes (`PERSID`).
    LineNl,
    /// Two newline-terminated strings: module and name (`GLOBAL`, `INST`).
    TwoLines,
}

/// Every opcode of protocols 0-5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum Opcode {
    MARK,
    STOP,
    POP,
    POP_MARK,
    DUP,
    FLOAT,
    INT,
    BININT,
    BININT1,
    LONG,
    BININT2,
    NONE,
    PERSID,
    BINPERSID,
    REDUCE,
    STRING,
    BINSTRING,
    SHORT_BINSTRING,
    UNICODE,
    BINUNICODE,
    APPEND,
    BUILD,
    GLOBAL,
    DICT,
    EMPTY_DICT,
    APPENDS,
    GET,
    BINGET,
    INST,
    LONG_BINGET,
    LIST,
    EMPTY_LIST,
    OBJ,
    PUT,
    BINPUT,
    LONG_BINPUT,
    SETITEM,
    TUPLE,
    EMPTY_TUPLE,
    SETITEMS,
    BINFLOAT,
    PROTO,
    NEWOBJ,
    EXT1,
    EXT2,
    EXT4,
    TUPLE1,
    TUPLE2,
    TUPLE3,
    NEWTRUE,
    NEWFALSE,
    LONG1,
    LONG4,
    BINBYTES,
    SHORT_BINBYTES,
    SHORT_BINUNICODE,
    BINUNICODE8,
    BINBYTES8,
    EMPTY_SET,
    ADDITEMS,
    FROZENSET,
    NEWOBJ_EX,
    STACK_GLOBAL,
    MEMOIZE,
    FRAME,
    BYTEARRAY8,
    NEXT_BUFFER,
    READONLY_BUFFER,
}

/// (byte, opcode, argument kind, protocol introduced).
pub const TABLE: [(u8, Opcode, ArgKind, u8); 68] = [
    (b'(', Opcode::MARK, ArgKind::None, 0),
    (b'.', Opcode::STOP, ArgKind::None, 0),
    (b'0', Opcode::POP, ArgKind::None, 0),
    (b'1', Opcode::POP_MARK, ArgKind::None, 1),
    (b'2', Opcode::DUP, ArgKind::None, 0),
    (b'F', Opcode::FLOAT, ArgKind::FloatNl, 0),
    (b'I', Opcode::INT, ArgKind::DecimalNl, 0),
    (b'J', Opcode::BININT, ArgKind::I4, 1),
    (b'K', Opcode::BININT1, ArgKind::U1, 1),
    (b'L', Opcode::LONG, ArgKind::LongNl, 0),
    (b'M', Opcode::BININT2, ArgKind::U2, 1),
    (b'N', Opcode::NONE, ArgKind::None, 0),
    (b'P', Opcode::PERSID, ArgKind::LineNl, 0),
    (b'Q', Opcode::BINPERSID, ArgKind::None, 1),
    (b'R', Opcode::REDUCE, ArgKind::None, 0),
    (b'S', Opcode::STRING, ArgKind::QuotedNl, 0),
    (b'T', Opcode::BINSTRING, ArgKind::Bytes4, 1),
    (b'U', Opcode::SHORT_BINSTRING, ArgKind::Bytes1, 1),
    (b'V', Opcode::UNICODE, ArgKind::UnicodeNl, 0),
    (b'X', Opcode::BINUNICODE, ArgKind::Bytes4, 1),
    (b'a', Opcode::APPEND, ArgKind::None, 0),
    (b'b', Opcode::BUILD, ArgKind::None, 0),
    (b'c', Opcode::GLOBAL, ArgKind::TwoLines, 0),
    (b'd', Opcode::DICT, ArgKind::None, 0),
    (b'}', Opcode::EMPTY_DICT, ArgKind::None, 1),
    (b'e', Opcode::APPENDS, ArgKind::None, 1),
    (b'g', Opcode::GET, ArgKind::DecimalNl, 0),
    (b'h', Opcode::BINGET, ArgKind::U1, 1),
    (b'i', Opcode::INST, ArgKind::TwoLines, 0),
    (b'j', Opcode::LONG_BINGET, ArgKind::U4, 1),
    (b'l', Opcode::LIST, ArgKind::None, 0),
    (b']', Opcode::EMPTY_LIST, ArgKind::None, 1),
    (b'o', Opcode::OBJ, ArgKind::None, 1),
    (b'p', Opcode::PUT, ArgKind::DecimalNl, 0),
    (b'q', Opcode::BINPUT, ArgKind::U1, 1),
    (b'r', Opcode::LONG_BINPUT, ArgKind::U4, 1),
    (b's', Opcode::SETITEM, ArgKind::None, 0),
    (b't', Opcode::TUPLE, ArgKind::None, 0),
    (b')', Opcode::EMPTY_TUPLE, ArgKind::None, 1),
    (b'u', Opcode::SETITEMS, ArgKind::None, 1),
    (b'G', Opcode::BINFLOAT, ArgKind::F8, 1),
    (0x80, Opcode::PROTO, ArgKind::U1, 2),
    (0x81, Opcode::NEWOBJ, ArgKind::None, 2),
    (0x82, Opcode::EXT1, ArgKind::U1, 2),
    (0x83, Opcode::EXT2, ArgKind::U2, 2),
    (0x84, Opcode::EXT4, ArgKind::I4, 2),
    (0x85, Opcode::TUPLE1, ArgKind::None, 2),
    (0x86, Opcode::TUPLE2, ArgKind::None, 2),
    (0x87, Opcode::TUPLE3, ArgKind::None, 2),
    (0x88, Opcode::NEWTRUE, ArgKind::None, 2),
    (0x89, Opcode::NEWFALSE, ArgKind::None, 2),
    (0x8a, Opcode::LONG1, ArgKind::Long1, 2),
    (0x8b, Opcode::LONG4, ArgKind::Long4, 2),
    (b'B', Opcode::BINBYTES, ArgKind::Bytes4, 3),
    (b'C', Opcode::SHORT_BINBYTES, ArgKind::Bytes1, 3),
    (0x8c, Opcode::SHORT_BINUNICODE, ArgKind::Bytes1, 4),
    (0x8d, Opcode::BINUNICODE8, ArgKind::Bytes8, 4),
    (0x8e, Opcode::BINBYTES8, ArgKind::Bytes8, 4),
    (0x8f, Opcode::EMPTY_SET, ArgKind::None, 4),
    (0x90, Opcode::ADDITEMS, ArgKind::None, 4),
    (0x91, Opcode::FROZENSET, ArgKind::None, 4),
    (0x92, Opcode::NEWOBJ_EX, ArgKind::None, 4),
    (0x93, Opcode::STACK_GLOBAL, ArgKind::None, 4),
    (0x94, Opcode::MEMOIZE, ArgKind::None, 4),
    (0x95, Opcode::FRAME, ArgKind::U8, 4),
    (0x96, Opcode::BYTEARRAY8, ArgKind::Bytes8, 5),
    (0x97, Opcode::NEXT_BUFFER, ArgKind::None, 5),
    (0x98, Opcode::READONLY_BUFFER, ArgKind::None, 5),
];

/// Lookup table from byte to table index (255 = not an opcode).
const fn build_index() -> [u8; 256] {
    let mut idx = [255u8; 256];
    let mut i = 0;
    while i < TABLE.len() {
        idx[TABLE[i].0 as usize] = i as u8;
        i += 1;
    }
    idx
}

static INDEX: [u8; 256] = build_index();

/// Decode an opcode byte: the opcode, its argument kind and the protocol that introduced it.
pub fn lookup(byte: u8) -> Option<(Opcode, ArgKind, u8)> {
    let i = *INDEX.get(usize::from(byte))?;
    let (_, op, arg, proto) = TABLE.get(usize::from(i))?;
    Some((*op, *arg, *proto))
}

impl Opcode {
    /// The opcode's name as pickletools spells it.
    pub fn name(self) -> &'static str {
        // The Debug representation is exactly the pickletools name.
        match self {
            Opcode::MARK => "MARK",
            Opcode::STOP => "STOP",
            Opcode::POP => "POP",
            Opcode::POP_MARK => "POP_MARK",
            Opcode::DUP => "DUP",
            Opcode::FLOAT => "FLOAT",
            Opcode::INT => "INT",
            Opcode::BININT => "BININT",
            Opcode::BININT1 => "BININT1",
            Opcode::LONG => "LONG",
            Opcode::BININT2 => "BININT2",
            Opcode::NONE => "NONE",
            Opcode::PERSID => "PERSID",
            Opcode::BINPERSID => "BINPERSID",
            Opcode::REDUCE => "REDUCE",
            Opcode::STRING => "STRING",
            Opcode::BINSTRING => "BINSTRING",
            Opcode::SHORT_BINSTRING => "SHORT_BINSTRING",
            Opcode::UNICODE => "UNICODE",
            Opcode::BINUNICODE => "BINUNICODE",
            Opcode::APPEND => "APPEND",
            Opcode::BUILD => "BUILD",
            Opcode::GLOBAL => "GLOBAL",
            Opcode::DICT => "DICT",
            Opcode::EMPTY_DICT => "EMPTY_DICT",
            Opcode::APPENDS => "APPENDS",
            Opcode::GET => "GET",
            Opcode::BINGET => "BINGET",
            Opcode::INST => "INST",
            Opcode::LONG_BINGET => "LONG_BINGET",
            Opcode::LIST => "LIST",
            Opcode::EMPTY_LIST => "EMPTY_LIST",
            Opcode::OBJ => "OBJ",
            Opcode::PUT => "PUT",
            Opcode::BINPUT => "BINPUT",
            Opcode::LONG_BINPUT => "LONG_BINPUT",
            Opcode::SETITEM => "SETITEM",
            Opcode::TUPLE => "TUPLE",
            Opcode::EMPTY_TUPLE => "EMPTY_TUPLE",
            Opcode::SETITEMS => "SETITEMS",
            Opcode::BINFLOAT => "BINFLOAT",
            Opcode::PROTO => "PROTO",
            Opcode::NEWOBJ => "NEWOBJ",
            Opcode::EXT1 => "EXT1",
            Opcode::EXT2 => "EXT2",
            Opcode::EXT4 => "EXT4",
            Opcode::TUPLE1 => "TUPLE1",
            Opcode::TUPLE2 => "TUPLE2",
            Opcode::TUPLE3 => "TUPLE3",
            Opcode::NEWTRUE => "NEWTRUE",
            Opcode::NEWFALSE => "NEWFALSE",
            Opcode::LONG1 => "LONG1",
            Opcode::LONG4 => "LONG4",
            Opcode::BINBYTES => "BINBYTES",
            Opcode::SHORT_BINBYTES => "SHORT_BINBYTES",
            Opcode::SHORT_BINUNICODE => "SHORT_BINUNICODE",
            Opcode::BINUNICODE8 => "BINUNICODE8",
            Opcode::BINBYTES8 => "BINBYTES8",
            Opcode::EMPTY_SET => "EMPTY_SET",
            Opcode::ADDITEMS => "ADDITEMS",
            Opcode::FROZENSET => "FROZENSET",
            Opcode::NEWOBJ_EX => "NEWOBJ_EX",
            Opcode::STACK_GLOBAL => "STACK_GLOBAL",
            Opcode::MEMOIZE => "MEMOIZE",
            Opcode::FRAME => "FRAME",
            Opcode::BYTEARRAY8 => "BYTEARRAY8",
            Opcode::NEXT_BUFFER => "NEXT_BUFFER",
            Opcode::READONLY_BUFFER => "READONLY_BUFFER",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_complete_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for (b, op, _, proto) in TABLE {
            assert!(seen.insert(b), "duplicate byte {b:#x}");
            assert!(proto <= 5);
            assert_eq!(lookup(b).map(|x| x.0), Some(op));
        }
        assert_eq!(seen.len(), 68);
        assert!(lookup(0xff).is_none());
        assert!(lookup(b'z').is_none());
    }
}
