//! `modelgate rules` and `modelgate rule CODE`: the rule catalogue and each rule's page.

use modelgate_rules::{RULES, rule_by_code};

#[derive(clap::Args)]
pub struct ListArgs {
    /// Print the catalogue as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct ShowArgs {
    /// Rule code (PKL001) or name (pickle-code-execution).
    pub code: String,
}

pub fn list(args: ListArgs) -> anyhow::Result<u8> {
    if args.json {
        println!("{}", serde_json::to_string_pretty(&RULES)?);
        return Ok(0);
    }
    for r in RULES {
        println!(
            "{:<7} {:<9} {:<15} {:<38} {}",
            r.code,
            r.severity.as_str(),
            r.kind.as_str(),
            r.name,
            r.summary
        );
    }
    Ok(0)
}

pub fn show(args: ShowArgs) -> anyhow::Result<u8> {
    match rule_by_code(&args.code) {
        Some(r) => {
            println!("{}", r.doc.trim_end());
            println!(
                "\nseverity: {}  confidence: {:?}  kind: {}  family: {}  since: {}",
                r.severity, r.confidence, r.kind, r.family, r.since
            );
            if !r.references.is_empty() {
                println!("references: {}", r.references.join(", "));
            }
            Ok(0)
        }
        None => anyhow::bail!("no rule {:?}; `modelgate rules` lists them", args.code),
    }
}
