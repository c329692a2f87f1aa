//! `TFL001` tflite-custom-op: The TFLite model needs custom operators (native code the runtime must load)

use modelgate_core::{Confidence, Kind, RuleMeta, Severity};

pub const META: RuleMeta = RuleMeta {
    code: "TFL001",
    name: "tflite-custom-op",
    family: "tensorflow",
    kind: Kind::CodeExecution,
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    summary: "The TFLite model needs custom operators (native code the runtime must load)",
    doc: include_str!("../../../../../docs/rules/TFL001.md"),
    references: &["CWE-829"],
    since: "0.1.0",
};

/// Custom ops the TFLite runtime or MediaPipe register themselves (reported at low).
pub const KNOWN: &[&str] = &[
    "TFLite_Detection_PostProcess",
    "AudioSpectrogram",
    "Mfcc",
    "Atan2",
    "AvgPool3D",
    "MaxPool3D",
    "HashTableV2",
    "LookupTableFindV2",
    "LookupTableImportV2",
    "LookupTableSizeV2",
    "IRFFT2D",
    "Roll",
    "Sign",
    "RandomStandardNormal",
    "RandomUniform",
    "RandomUniformInt",
    "Multinomial",
    "Convolution2DTransposeBias",
    "MaxPoolingWithArgmax2D",
    "MaxUnpooling2D",
    "Landmarks2TransformMatrix",
    "TransformLandmarks",
    "TransformTensorBilinear",
];
