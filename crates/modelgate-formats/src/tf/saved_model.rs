//! `SavedModel` and `MetaGraphDef` decoders.
//!
//! Field numbers (tensorflow/core/protobuf/*.proto): SavedModel{1 saved_model_schema_version,
//! 2 meta_graphs}, MetaGraphDef{1 meta_info_def, 2 graph_def, 3 saver_def, 4 collection_def,
//! 5 signature_def, 6 asset_file_def, 7 object_graph_def}, MetaInfoDef{4 tags,
//! 5 tensorflow_version}, SaverDef{1 filename_tensor_name}, AssetFileDef{1 tensor_info,
//! 2 filename}, TensorInfo{1 name}.

use super::graph::decode_graph;
use super::object_graph::decode_object_graph;
use super::wire::{Fields, Val, text};
use super::{Asset, Cx, MetaGraph, TfError, TfModel};

/// Most meta graphs decoded from one SavedModel (real ones have one or two).
const MAX_META_GRAPHS: usize = 64;

pub(crate) fn decode_saved_model(
    data: &[u8],
    cx: &mut Cx,
    out: &mut TfModel,
) -> Result<(), TfError> {
    let mut f = Fields::new(data, 0);
    while let Some((n, v)) = f.next_field()? {
        match (n, v) {
            (1, Val::Varint(s)) => out.schema_version = Some(s),
            (2, Val::Len(b, at)) => {
                if out.meta_graphs.len() >= MAX_META_GRAPHS {
                    cx.issue(
                        at,
                        format!(
                            "more than {MAX_META_GRAPHS} meta graphs; the rest were not analysed"
                        ),
                    );
                    continue;
                }
                out.meta_graphs.push(MetaGraph::default());
                if let Some(mg) = out.meta_graphs.last_mut() {
                    decode_meta_graph(b, at, cx, mg)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

pub(crate) fn decode_meta_graph(
    data: &[u8],
    base: usize,
    cx: &mut Cx,
    out: &mut MetaGraph,
) -> Result<(), TfError> {
    let mut f = Fields::new(data, base);
    while let Some((n, v)) = f.next_field()? {
        let Val::Len(b, at) = v else { continue };
        match n {
            1 => {
                let mut mf = Fields::new(b, at);
                while let Some((mn, mv)) = mf.next_field()? {
                    match (mn, mv) {
                        (4, Val::Len(t, _)) => out.tags.push(text(t)),
                        (5, Val::Len(t, _)) => out.tf_version = text(t),
                        _ => {}
                    }
                }
            }
            2 => decode_graph(b, at, cx, &mut out.graph)?,
            3 => {
                if let Some(name) = string_field(b, at, 1)? {
                    out.saver_filename_tensor = Some(name);
                }
            }
            4 => out.collections.extend(string_field(b, at, 1)?),
            5 => out.signatures.extend(string_field(b, at, 1)?),
            6 => {
                let mut asset = Asset::default();
                let mut af = Fields::new(b, at);
                while let Some((an, av)) = af.next_field()? {
                    match (an, av) {
                        (1, Val::Len(ti, tat)) => {
                            if let Some(name) = string_field(ti, tat, 1)? {
                                asset.tensor_name = name;
                            }
                        }
                        (2, Val::Len(name, _)) => asset.filename = text(name),
                        _ => {}
                    }
                }
                out.assets.push(asset);
            }
            7 => decode_object_graph(b, at, cx, &mut out.keras_objects)?,
            _ => {}
        }
    }
    Ok(())
}

/// The last string field `number` of a message.
fn string_field(data: &[u8], base: usize, number: u32) -> Result<Option<String>, TfError> {
    let mut found = None;
    let mut f = Fields::new(data, base);
    while let Some((n, v)) = f.next_field()? {
        if let (true, Val::Len(b, _)) = (n == number, v) {
            found = Some(text(b));
        }
    }
    Ok(found)
}
