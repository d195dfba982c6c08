//! The hyper-parameter fields of the dashboard's forms: one field per name the model's
//! [`mf_lab::Model::param_names`] lists, so that a hyper-parameter added to a model appears in the forms without
//! any change here.
//!
//! A field holds text: values separated by commas (a grid axis in the run form, one value in the robustness
//! form); an empty field leaves the hyper-parameter at the model's default.
//! Each field starts at the model's default, which [`defaults`] reads from the model's typed hyper-parameter
//! struct ([`mf_lab::Model::params`]).

use mf_lab::{ModelKind, Params};

/// One hyper-parameter of a form.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamField {
    /// Its name, as the model's `param_names()` spells it.
    pub name: String,
    /// What the field holds: values separated by commas; empty leaves the hyper-parameter at its default.
    pub text: String,
    /// What the form filled in (grid, preset or default), to tell the values the user changed.
    pub initial: String,
    /// The value the job takes when the field is empty, when known (see [`defaults`]).
    pub default: Option<f64>,
}

impl ParamField {
    /// Whether the user changed the field from what the form filled in.
    pub fn edited(&self) -> bool {
        self.text.trim() != self.initial.trim()
    }

    /// The values of the field (empty for an empty field); an error names the hyper-parameter.
    pub fn values(&self) -> Result<Vec<f64>, String> {
        parse_values(&self.name, &self.text)
    }
}

/// The seed typed into a form: a whole number from 0 to `u64::MAX`, else the error the form shows.
pub fn parse_seed(text: &str) -> Result<u64, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "seed: `{}` is not a whole number from 0 to {}",
            text.trim(),
            u64::MAX
        )
    })
}

/// The characters a value field takes; every other key keeps its meaning in the form (`j`/`k` move, `q` closes).
pub fn typable(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '.' | ',' | '-' | '+' | 'e' | 'E' | ' ')
}

/// A number as the forms write it: Rust's shortest spelling that reads back as the same `f64`.
pub fn fmt_value(v: f64) -> String {
    format!("{v}")
}

/// A list of values as the forms write it.
pub fn fmt_values(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| fmt_value(*v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The values of `text`, separated by commas; empty text gives none. Refuses an empty item, anything that is not
/// a number and a non-finite number, naming `name`.
pub fn parse_values(name: &str, text: &str) -> Result<Vec<f64>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|item| {
            let item = item.trim();
            if item.is_empty() {
                return Err(format!("{name}: an empty value in `{}`", text.trim()));
            }
            let v = mf_lab::grid::parse_value(name, item).map_err(|e| format!("{name}: {e}"))?;
            if !v.is_finite() {
                return Err(format!("{name}: `{item}` is not a finite number"));
            }
            Ok(v)
        })
        .collect()
}

/// The default of every hyper-parameter of `model`, from its typed hyper-parameter struct.
pub fn defaults(model: ModelKind) -> Params {
    model
        .model()
        .params()
        .into_iter()
        .map(|p| (p.name.to_string(), p.default))
        .collect()
}

/// One field per hyper-parameter of `model` but those in `skip`, in `param_names()` order, filled from `fill`
/// where it has the name and from `default` otherwise. `default` also gives each field's
/// [`ParamField::default`].
pub fn fields(
    model: ModelKind,
    fill: &[(String, Vec<f64>)],
    default: &Params,
    skip: &[&str],
) -> Vec<ParamField> {
    model
        .model()
        .param_names()
        .iter()
        .filter(|name| !skip.contains(name))
        .map(|&name| {
            let text = match fill.iter().find(|(n, _)| n == name) {
                Some((_, values)) => fmt_values(values),
                None => default.get(name).map_or(String::new(), |v| fmt_value(*v)),
            };
            ParamField {
                name: name.to_string(),
                initial: text.clone(),
                text,
                default: default.get(name).copied(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_as_a_comma_separated_list_and_bad_ones_name_the_field() {
        assert_eq!(
            parse_values("dt", " 0.1, 1e-2 ,3"),
            Ok(vec![0.1, 0.01, 3.0])
        );
        assert_eq!(parse_values("dt", "  "), Ok(vec![]));
        assert!(parse_values("dt", "0.1,,2")
            .unwrap_err()
            .contains("dt: an empty value"));
        assert!(parse_values("kp0", "1.2.3")
            .unwrap_err()
            .contains("kp0: `1.2.3` is not a number"));
        assert!(parse_values("kp0", "1e999")
            .unwrap_err()
            .contains("not a finite number"));
        let v = [0.0001, 12.0, -0.5];
        assert_eq!(parse_values("x", &fmt_values(&v)), Ok(v.to_vec()));
    }

    #[test]
    fn every_default_found_leaves_the_configuration_as_it_is_and_another_value_changes_it() {
        for &m in ModelKind::all() {
            let found = defaults(m);
            let base = m.model().configure(&Params::new()).unwrap().to_json();
            // Every hyper-parameter has its default.
            assert_eq!(found.len(), m.model().param_names().len(), "{m}");
            for (name, v) in &found {
                let one: Params = [(name.clone(), *v)].into_iter().collect();
                let d = m.model().configure(&one).unwrap().to_json();
                assert_eq!(d, base, "{m}: {name} = {v} is not the default");
            }
        }
        // The MF cell's physics defaults are those of the device (Table II), read from mf-core independently.
        let p = mf_lab::stability::MfCell::new(0.1, 1.0, 5.0).physics;
        let d = defaults(ModelKind::MfEsn);
        assert_eq!((d["kp0"], d["kd0"], d["eta_p"]), (p.kp0, p.kd0, p.eta_p));
        assert_eq!((d["eta_d"], d["a"], d["b"]), (p.eta_d, p.a, p.b));
        // A reservoir is dense and ideal unless told otherwise.
        assert_eq!((d["density"], d["w_noise"], d["w_bits"]), (1.0, 0.0, 0.0));
    }
}
