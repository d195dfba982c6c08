//! The headless commands of the `mf` binary that drive the models and data directly: `data`, `params`, `run`,
//! `fit`, `forecast`, `predict`, `export`, `stability`, `robustness`, and `sweep` (with `table`, `merge`, `slurm` and `store`), each over
//! `mf-lab`.
//!
//! Each command has a clap argument struct and a function returning `anyhow::Result`; results go to stdout,
//! progress and notes to stderr.

pub mod data;
pub mod export;
pub mod fit;
pub mod forecast;
pub mod merge;
pub mod params;
pub mod predict;
pub mod robustness;
pub mod run;
mod shared;
pub mod slurm;
pub mod stability;
pub mod store;
pub mod sweep;
pub mod table;

use anyhow::{bail, Context};

use mf_lab::Params;

/// Parses one `--set key=value` argument.
pub fn parse_set(s: &str) -> Result<(String, f64), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not key=value"))?;
    let k = k.trim();
    if k.is_empty() {
        return Err(format!("`{s}` has an empty key"));
    }
    let v = mf_lab::grid::parse_value(k, v).map_err(|e| format!("{e} in `{s}`"))?;
    Ok((k.to_string(), v))
}

/// Collects `--set` pairs into parameters, refusing a key given twice.
pub fn params_of(sets: &[(String, f64)]) -> anyhow::Result<Params> {
    let mut p = Params::new();
    for (k, v) in sets {
        if p.insert(k.clone(), *v).is_some() {
            bail!("--set {k} is given twice");
        }
    }
    Ok(p)
}

/// Writes `value` as pretty JSON to stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(value).context("serialising the result")?
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_arguments_parse_or_explain() {
        assert_eq!(parse_set("rho=0.9"), Ok(("rho".into(), 0.9)));
        assert_eq!(parse_set(" dt = 1e-3 "), Ok(("dt".into(), 0.001)));
        assert!(parse_set("rho").unwrap_err().contains("key=value"));
        assert!(parse_set("=1").unwrap_err().contains("empty key"));
        assert!(parse_set("rho=x").unwrap_err().contains("not a number"));
        assert!(params_of(&[("a".into(), 1.0), ("a".into(), 2.0)]).is_err());
    }
}
