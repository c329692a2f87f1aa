//! Content detection: what a byte stream is, decided by its bytes. The name only breaks
//! ties between formats that have no magic number (protobuf, lzma-alone).

use crate::pickle::symbolic::{EventKind, StreamEnd, VmLimits, probe_stream};
use modelgate_core::FormatId;
use modelgate_core::format::Codec;

/// The legacy PyTorch magic number as a LONG1 argument (`0x1950a86a20f9469cfc6c`).
pub const TORCH_LEGACY_MAGIC: &[u8] = b"\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

/// Decide what `data` is. `name` is the last path segment, used only for ties.
pub fn sniff(data: &[u8], name: &str) -> FormatId {
    let lower = name.to_ascii_lowercase();
    let head = |n: usize| data.get(..n).unwrap_or(&[]);
    if data.starts_with(b"\x93NUMPY") {
        return FormatId::Npy;
    }
    if data.starts_with(b"GGUF") {
        return FormatId::Gguf;
    }
    if data.starts_with(b"\x89HDF\r\n\x1a\n") {
        return FormatId::Hdf5;
    }
    if data.starts_with(b"PK\x03\x04")
        || data.starts_with(b"PK\x05\x06")
        || data.starts_with(b"PK\x07\x08")
    {
        return FormatId::Zip;
    }
    if data.starts_with(b"7z\xbc\xaf\x27\x1c") {
        return FormatId::SevenZ;
    }
    if data.starts_with(b"\x1f\x8b") {
        return FormatId::Compressed(Codec::Gzip);
    }
    if crate::compress::joblib_zfile_offset(data).is_some() {
        return FormatId::Compressed(Codec::Zlib);
    }
    if data.starts_with(b"BZh") && data.get(3).is_some_and(|c| (b'1'..=b'9').contains(c)) {
        return FormatId::Compressed(Codec::Bzip2);
    }
    if data.starts_with(b"\xfd7zXZ\x00") {
        return FormatId::Compressed(Codec::Xz);
    }
    if data.starts_with(b"\x28\xb5\x2f\xfd") {
        return FormatId::Compressed(Codec::Zstd);
    }
    if data.starts_with(b"\x04\x22\x4d\x18") {
        return FormatId::Compressed(Codec::Lz4);
    }
    if data.get(4..8) == Some(b"TFL3") {
        return FormatId::TfLite;
    }
    if data.get(257..262) == Some(b"ustar") {
        return FormatId::Tar;
    }
    if is_safetensors(data) {
        return FormatId::Safetensors;
    }
    if data.get(2..2 + TORCH_LEGACY_MAGIC.len()) == Some(TORCH_LEGACY_MAGIC)
        && data.first() == Some(&0x80)
    {
        return FormatId::TorchLegacy;
    }
    // An HDF5 superblock after a user block (512, 1024, 2048, ... bytes of anything, even a
    // pickle: the HDF5 analyzer scans the user block as a member).
    if crate::hdf5::find_superblock(data).is_some() {
        return FormatId::Hdf5;
    }
    if looks_like_pickle(data) {
        let protocol = match head(2) {
            [0x80, p] => *p,
            _ => 0,
        };
        return FormatId::Pickle { protocol };
    }
    if is_zlib(data) {
        return FormatId::Compressed(Codec::Zlib);
    }
    // lzma-alone ("5d 00 00" + dictionary size) has no real magic: accept it with the usual
    // properties byte and a power-of-two dictionary.
    if data.len() > 13 && data.first() == Some(&0x5d) && data.get(1..3) == Some(&[0, 0]) {
        return FormatId::Compressed(Codec::Lzma);
    }
    if looks_like_protobuf(data) {
        if lower.ends_with(".onnx") || looks_like_onnx(data) {
            return FormatId::Onnx;
        }
        // TensorFlow messages are recognised by their structure, whatever the name;
        // keras_metadata.pb is part of a SavedModel (the Keras configs of its objects).
        match crate::tf::probe(data) {
            Some(
                crate::tf::TfKind::SavedModel
                | crate::tf::TfKind::MetaGraph
                | crate::tf::TfKind::KerasMetadata,
            ) => {
                return FormatId::SavedModel;
            }
            Some(crate::tf::TfKind::GraphDef) => return FormatId::TfGraphDef,
            None => {}
        }
        // The name breaks the tie for a damaged SavedModel; other `.pb` files
        // (fingerprint.pb) are protobufs of other kinds.
        if lower.ends_with("saved_model.pb") {
            return FormatId::SavedModel;
        }
    }
    // Text-format TensorFlow protobufs (saved_model.pbtxt, GraphDef .pbtxt), by their
    // first fields.
    match crate::tf::probe_text(data) {
        Some(crate::tf::TfKind::GraphDef) => return FormatId::TfGraphDef,
        Some(_) => return FormatId::SavedModel,
        None => {}
    }
    let first = data.iter().copied().find(|b| !b.is_ascii_whitespace());
    if matches!(first, Some(b'{') | Some(b'[')) && utf8_head(head(4096.min(data.len()))) {
        return FormatId::Json;
    }
    if !data.is_empty() && utf8_head(head(4096.min(data.len()))) {
        return FormatId::Text;
    }
    FormatId::Unknown
}

fn is_safetensors(data: &[u8]) -> bool {
    let Some(len) = data.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) else {
        return false;
    };
    let n = u64::from_le_bytes(len);
    n >= 2 && n <= data.len() as u64 - 8 && data.get(8) == Some(&b'{')
}

fn is_zlib(data: &[u8]) -> bool {
    match data.get(..2) {
        Some([cmf, flg]) => {
            cmf & 0x0f == 8
                && (cmf >> 4) <= 7
                && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0
        }
        _ => false,
    }
}

/// A bounded probe: the symbolic machine runs the start of the stream and must either reach
/// STOP or run a good number of opcodes without the loader failing.
pub fn looks_like_pickle(data: &[u8]) -> bool {
    let Some(&first) = data.first() else {
        return false;
    };
    if first == 0x80 {
        if data.get(1).is_none_or(|p| *p > 5) {
            return false;
        }
    } else if !matches!(
        first,
        b'(' | b'c'
            | b']'
            | b'}'
            | b')'
            | b'N'
            | b'I'
            | b'S'
            | b'V'
            | b'l'
            | b'd'
            | b'K'
            | b'J'
            | b'X'
            | b'U'
            | b'G'
            | b'F'
            | b'L'
            | b'M'
            | b'i'
            | b'T'
            | b'P'
            | b'\x88'
            | b'\x89'
            | b'.'
            // The loader does not require a PROTO header before protocol 2-5 opcodes: a
            // stream may start with any opcode that needs nothing on the stack.
            | b'C'
            | b'B'
            | b'\x8a'
            | b'\x8b'
            | b'\x8c'
            | b'\x8d'
            | b'\x8e'
            | b'\x8f'
            | b'\x95'
            | b'\x96'
    ) {
        return false;
    }
    if data.len() == 1 {
        // A lone STOP is a valid but empty pickle; treat as data, not a pickle.
        return false;
    }
    if first == 0x80 && data.get(1).is_some_and(|p| (2..=5).contains(p)) {
        // Binary pickles: PROTO 2-5 followed by opcodes that decode (or a STOP) is decisive
        // without running the machine; random bytes pass this with probability ~1e-9.
        let mut d = crate::pickle::Disassembler::new(data);
        for i in 0..12 {
            match d.next_op() {
                None => return i >= 3,
                Some(Ok(op)) if op.opcode == crate::pickle::Opcode::STOP => return i >= 2,
                Some(Ok(_)) => {}
                Some(Err(_)) => return i >= 3,
            }
        }
        return true;
    }
    let limits = VmLimits {
        max_ops: 256,
        max_values: 4096,
        max_memo: 4096,
        max_nesting: 1,
    };
    let p = probe_stream(data, 0, limits);
    let imports = p
        .events
        .iter()
        .any(|e| matches!(e.kind, EventKind::Import { .. }));
    let binary = first == 0x80;
    match p.end {
        StreamEnd::Stop { .. } => p.ops >= 2,
        StreamEnd::Budget { .. } => binary || imports,
        // A stream cut off after a clear pickle start (PROTO, or a real import) still counts:
        // truncated malicious pickles run their payload before failing. Text that merely
        // starts with opcode-like letters does not import anything.
        StreamEnd::NoStop { .. } | StreamEnd::Damaged(_) | StreamEnd::LoaderError { .. } => {
            p.ops >= 3 && (binary || imports)
        }
    }
}

fn looks_like_protobuf(data: &[u8]) -> bool {
    // First byte is a field key with wire type 0 (varint) or 2 (length-delimited), field 1..15.
    match data.first() {
        Some(&k) => {
            let wt = k & 7;
            let field = k >> 3;
            (wt == 0 || wt == 2) && (1..=15).contains(&field)
        }
        None => false,
    }
}

fn looks_like_onnx(data: &[u8]) -> bool {
    // ModelProto usually starts with ir_version (field 1, varint 3..=12) then producer_name,
    // graph or opset_import.
    matches!(data.get(..3), Some([0x08, v, next]) if (3..=12).contains(v) && matches!(next, 0x12 | 0x1a | 0x22 | 0x2a | 0x3a | 0x42))
}

/// Whether a prefix of a file is UTF-8; a character cut in two at the end of the prefix
/// does not count against it.
fn utf8_head(prefix: &[u8]) -> bool {
    match std::str::from_utf8(prefix) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_cut_by_the_sniff_window_is_still_text() {
        let mut t = "{{ x }}".to_string();
        t.push_str(&"a".repeat(4095 - t.len()));
        t.push_str("｜end");
        assert_eq!(sniff(t.as_bytes(), "chat_template.jinja"), FormatId::Json);
        let mut j = "\"chat_template\": ".to_string();
        j.push_str(&"a".repeat(4095 - j.len()));
        j.push('é');
        assert_eq!(sniff(j.as_bytes(), "x"), FormatId::Text);
        assert_eq!(sniff(b"abc\xff", "x"), FormatId::Unknown);
    }

    #[test]
    fn sniffs_by_content_not_name() {
        assert_eq!(
            sniff(b"\x80\x02]q\x00.", "weights.txt"),
            FormatId::Pickle { protocol: 2 }
        );
        assert_eq!(
            sniff(b"cos\nsystem\n(S'id'\ntR.", "x.safetensors"),
            FormatId::Pickle { protocol: 0 }
        );
        assert_eq!(sniff(b"PK\x03\x04rest", "x.pkl"), FormatId::Zip);
        assert_eq!(sniff(b"\x93NUMPY\x01\x00", "a"), FormatId::Npy);
        assert_eq!(sniff(b"hello world\n", "model.pt"), FormatId::Text);
        assert_eq!(sniff(b"(hello", "x"), FormatId::Text);
        assert_eq!(sniff(b".", "x"), FormatId::Text);
        assert_eq!(
            sniff(b"\x1f\x8b\x08\x00", "x"),
            FormatId::Compressed(Codec::Gzip)
        );
        assert_eq!(sniff(b"", "x"), FormatId::Unknown);
    }

    #[test]
    fn text_that_starts_like_protocol_0_is_text() {
        let record = b"cloudpickle-3.1.3.dist-info/INSTALLER,sha256=zuuue4knoyJ\ncloudpickle/__init__.py,sha256=abc\n";
        assert_eq!(sniff(record, "RECORD"), FormatId::Text);
        assert_eq!(
            sniff(b"character strarr(5,7)\n(len=12)\n", "x.f90"),
            FormatId::Text
        );
        let f90 = b"MODULE string_test\n\n  character(len=8) :: string\n  character string77 * 8\n\n  character(len=12), dimension(5,7) :: strarr\n";
        assert_eq!(sniff(f90, "scalar_string.f90"), FormatId::Text);
    }

    #[test]
    fn truncated_pickle_is_still_a_pickle() {
        assert_eq!(
            sniff(
                b"\x80\x04\x95\x30\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94",
                "x"
            ),
            FormatId::Pickle { protocol: 4 }
        );
        assert_eq!(
            sniff(b"cos\nsystem\n(S'id'\ntR", "x"),
            FormatId::Pickle { protocol: 0 }
        );
    }

    #[test]
    fn tensorflow_by_structure_whatever_the_name() {
        let sm = include_bytes!("../../../tests/fixtures/scan/ok_tf_dense_savedmodel.pb");
        let gd = include_bytes!("../../../tests/fixtures/scan/ok_tf_frozen_graph.pb");
        let lite = include_bytes!("../../../tests/fixtures/scan/ok_tflite_dense.tflite");
        let fp = include_bytes!("../../../tests/fixtures/tf/ok_savedmodel/fingerprint.pb");
        for name in ["saved_model.pb", "model.bin", "x"] {
            assert_eq!(sniff(sm, name), FormatId::SavedModel, "{name}");
            assert_eq!(sniff(gd, name), FormatId::TfGraphDef, "{name}");
            assert_eq!(sniff(lite, name), FormatId::TfLite, "{name}");
        }
        // fingerprint.pb is a protobuf, but no graph.
        assert!(!matches!(
            sniff(fp, "fingerprint.pb"),
            FormatId::SavedModel | FormatId::TfGraphDef
        ));
        let pbtxt = include_bytes!("../../../tests/fixtures/scan/ok_tf_saved_model.pbtxt");
        let graph_txt = include_bytes!("../../../tests/fixtures/scan/ok_tf_frozen_graph.pbtxt");
        let keras = include_bytes!("../../../tests/fixtures/scan/ok_tf_keras_metadata.pb");
        for name in ["saved_model.pbtxt", "graph.txt", "x"] {
            assert_eq!(sniff(pbtxt, name), FormatId::SavedModel, "{name}");
            assert_eq!(sniff(graph_txt, name), FormatId::TfGraphDef, "{name}");
            assert_eq!(sniff(keras, name), FormatId::SavedModel, "{name}");
        }
        assert_eq!(sniff(b"node: \"x\"\n", "a.pbtxt"), FormatId::Text);
        // A damaged saved_model.pb is still called one (the analyzer reports the damage).
        assert_eq!(
            sniff(b"\x12\x05\x0a\x03\x22\x01", "saved_model.pb"),
            FormatId::SavedModel
        );
    }
}
