//! Generates the ONNX protobuf types from the vendored `proto/onnx-ml.proto` with `protox`
//! (a pure-Rust protobuf compiler) and `prost-build`; no `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/onnx-ml.proto");
    let fds = protox::compile(["onnx-ml.proto"], ["proto"])?;
    let mut config = prost_build::Config::new();
    // `bytes` fields become `bytes::Bytes`: decoding from a `Bytes` buffer then slices the
    // input instead of copying raw tensor data.
    config.bytes(["."]);
    config.compile_fds(fds)?;
    Ok(())
}
