//! `mf params`: every hyper-parameter of a model, from its typed hyper-parameter struct (name, kind, default,
//! help), so that `--set`, spec grids and the dashboard's fields have one reference.

use clap::Args;
use serde::Serialize;

use mf_lab::ModelKind;

/// Arguments of `mf params`.
#[derive(Debug, Args)]
pub struct ParamsArgs {
    /// Models to describe (repeatable); every registered model when none is given.
    #[arg(long, short = 'm')]
    pub model: Vec<ModelKind>,
    /// Write JSON (one object per model: id and its hyper-parameters) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One hyper-parameter, as `--json` writes it.
#[derive(Debug, Serialize)]
struct Param {
    name: &'static str,
    kind: String,
    default: String,
    help: String,
}

/// One model's hyper-parameters, as `--json` writes them.
#[derive(Debug, Serialize)]
struct ModelParams {
    model: &'static str,
    params: Vec<Param>,
}

fn describe(model: ModelKind) -> ModelParams {
    ModelParams {
        model: model.id(),
        params: model
            .model()
            .params()
            .into_iter()
            .map(|p| Param {
                name: p.name,
                kind: p.kind.describe(),
                default: mf_lab::grid::value_text(p.name, p.default),
                help: p.help,
            })
            .collect(),
    }
}

/// The text `mf params` prints for `models`: per model, one line per hyper-parameter.
pub fn params_text(models: &[ModelKind]) -> String {
    let mut out = String::new();
    for (i, m) in models.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let d = describe(*m);
        out.push_str(&format!(
            "{} ({m}): --set NAME=VALUE, or a grid axis in a spec\n",
            d.model
        ));
        let w = d.params.iter().map(|p| p.name.len()).max().unwrap_or(0);
        let wk = d.params.iter().map(|p| p.kind.len()).max().unwrap_or(0);
        let wd = d.params.iter().map(|p| p.default.len()).max().unwrap_or(0);
        for p in &d.params {
            out.push_str(&format!(
                "  {:w$}  {:wk$}  default {:wd$}  {}\n",
                p.name, p.kind, p.default, p.help
            ));
        }
    }
    out
}

/// Runs `mf params`.
pub fn run_params(args: &ParamsArgs) -> anyhow::Result<()> {
    let models = if args.model.is_empty() {
        ModelKind::all().to_vec()
    } else {
        args.model.clone()
    };
    if args.json {
        let all: Vec<ModelParams> = models.iter().map(|m| describe(*m)).collect();
        super::print_json(&all)
    } else {
        print!("{}", params_text(&models));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hyper_parameter_of_every_model_is_listed_with_its_default() {
        let text = params_text(ModelKind::all());
        for m in ModelKind::all() {
            for p in m.model().params() {
                let line = text
                    .lines()
                    .find(|l| l.trim_start().starts_with(&format!("{} ", p.name)))
                    .unwrap_or_else(|| panic!("{m}: {} is not listed", p.name));
                assert!(line.contains("default"), "{line}");
            }
        }
        let mf = params_text(&[ModelKind::MfEsn]);
        assert!(
            mf.contains("integrator") && mf.contains("default euler"),
            "{mf}"
        );
        assert!(mf.contains("euler (0) | exact (1)"), "{mf}");
        assert!(!mf.contains("alpha"), "{mf}");
    }
}
