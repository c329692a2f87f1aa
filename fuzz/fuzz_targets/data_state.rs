//! `modelgate data screen`'s baseline state: the packed tables (dense u16/u32/f32 arrays and
//! (hash, row) pairs) and the whole state document as `State::load` parses it after gunzip.
#![no_main]
use libfuzzer_sys::fuzz_target;
use modelgate_data::baseline::State;
use modelgate_data::packed::{decode, pairs};

fuzz_target!(|data: &[u8]| {
    let _ = decode::<u16>(data);
    let _ = decode::<u32>(data);
    let _ = decode::<f32>(data);
    let _ = pairs::decode(data);
    let _ = serde_json::from_slice::<State>(data);
});
