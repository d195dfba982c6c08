//! Hyper-parameters by name and the grids they are searched over.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::LabError;

/// The choices of hyper-parameter `name` (each choice's spelling and the number it is kept as), when some
/// registered model declares it a choice (`integrator`: euler or exact; `frozen`: false or true; see
/// [`crate::models::hyper::ParamKind::Choice`]). Specs, `--set` and the dashboard take either; store keys and spec
/// hashes keep the number, so a spec written with `integrator = [1.0]` and one written with
/// `integrator = ["exact"]` are the same experiment.
pub fn choices(name: &str) -> Option<&'static [(&'static str, f64)]> {
    crate::models::REGISTRY.iter().find_map(|m| {
        m.model().params().into_iter().find_map(|p| match p.kind {
            crate::models::hyper::ParamKind::Choice(c) if p.name == name => Some(c),
            _ => None,
        })
    })
}

/// The number a hyper-parameter's value is kept as: a number as written, or a choice by its spelling
/// (case-insensitive). A spelling of a hyper-parameter without choices, or an unknown choice, is refused naming
/// the accepted ones.
pub fn parse_value(name: &str, text: &str) -> Result<f64, String> {
    let text = text.trim();
    if let Ok(v) = text.parse::<f64>() {
        return Ok(v);
    }
    match choices(name) {
        Some(c) => c
            .iter()
            .find(|(spelling, _)| spelling.eq_ignore_ascii_case(text))
            .map(|&(_, v)| v)
            .ok_or_else(|| {
                format!(
                    "`{text}` is not a choice of {name} (it takes: {})",
                    c.iter()
                        .map(|(s, v)| format!("{s} or {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }),
        None => Err(format!("`{text}` is not a number")),
    }
}

/// A value as a person reads it: a choice's spelling, or the number.
pub fn value_text(name: &str, v: f64) -> String {
    choices(name)
        .and_then(|c| c.iter().find(|&&(_, x)| x == v))
        .map_or_else(|| v.to_string(), |(s, _)| s.to_string())
}

/// The positions (from 0) of the first value that appears again in `values` and of its next appearance.
pub fn first_repeat(values: &[f64]) -> Option<(usize, usize)> {
    values.iter().enumerate().find_map(|(again, v)| {
        values[..again]
            .iter()
            .position(|x| x == v)
            .map(|first| (first, again))
    })
}

/// One value of a grid axis as written in TOML: a number, a choice's spelling or a boolean.
#[derive(Deserialize)]
#[serde(untagged)]
enum Written {
    Number(f64),
    Bool(bool),
    Text(String),
}

/// Hyper-parameters of one configuration, by name (`omega`, `beta`, `rho`, `gamma`, `s`, `dt`, `alpha`, `lr`).
pub type Params = BTreeMap<String, f64>;

/// A hyper-parameter grid: named axes, each with its list of values, in nesting order (the first axis is the
/// outermost loop, the last varies fastest). The order is the order written in the spec and decides ties in
/// model selection, so it is kept as a list of pairs, never sorted.
///
/// In TOML a grid is a table `name = [values...]`; its keys are read in document order.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub(crate) axes: Vec<(String, Vec<f64>)>,
}

impl Grid {
    /// A grid from its axes; fails on an empty axis, a repeated name or a non-finite value.
    pub fn new(axes: Vec<(String, Vec<f64>)>) -> Result<Self, LabError> {
        for (i, (name, values)) in axes.iter().enumerate() {
            if values.is_empty() {
                return Err(LabError::InvalidSpec(format!(
                    "grid axis `{name}` has no values"
                )));
            }
            if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                return Err(LabError::InvalidSpec(format!(
                    "grid axis `{name}` has the non-finite value {v}"
                )));
            }
            // A value written twice would run the same configurations twice and print them twice.
            if let Some((first, again)) = first_repeat(values) {
                return Err(LabError::InvalidSpec(format!(
                    "grid axis `{name}` has the value {} twice (at positions {} and {})",
                    values[again],
                    first + 1,
                    again + 1
                )));
            }
            if axes[..i].iter().any(|(n, _)| n == name) {
                return Err(LabError::InvalidSpec(format!(
                    "grid axis `{name}` appears twice"
                )));
            }
        }
        Ok(Grid { axes })
    }

    /// The axes, in nesting order.
    pub fn axes(&self) -> &[(String, Vec<f64>)] {
        &self.axes
    }

    /// The number of configurations (product of the axis lengths; 1 for a grid without axes).
    pub fn len(&self) -> usize {
        self.axes.iter().map(|(_, v)| v.len()).product()
    }

    /// Whether the grid has no configuration (never true for a grid built by [`Grid::new`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Configuration number `index` in grid order (first axis outermost), or None past the end.
    pub fn config(&self, index: usize) -> Option<Params> {
        if index >= self.len() {
            return None;
        }
        let mut rest = index;
        let mut params = Params::new();
        for (name, values) in self.axes.iter().rev() {
            params.insert(name.clone(), values[rest % values.len()]);
            rest /= values.len();
        }
        Some(params)
    }

    /// All configurations in grid order.
    pub fn configs(&self) -> impl Iterator<Item = Params> + '_ {
        (0..self.len()).map(|i| self.config(i).expect("index in range"))
    }

    /// The index of the configuration equal to `params`, if the grid contains it.
    pub fn index_of(&self, params: &Params) -> Option<usize> {
        (0..self.len()).find(|&i| self.config(i).as_ref() == Some(params))
    }
}

impl Serialize for Grid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.axes.len()))?;
        for (name, values) in &self.axes {
            map.serialize_entry(name, values)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Grid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct GridVisitor;
        impl<'de> Visitor<'de> for GridVisitor {
            type Value = Grid;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of hyper-parameter names to lists of values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Grid, A::Error> {
                let mut axes = Vec::new();
                while let Some((name, written)) = map.next_entry::<String, Vec<Written>>()? {
                    let values = written
                        .into_iter()
                        .map(|w| match w {
                            Written::Number(v) => Ok(v),
                            Written::Bool(b) => parse_value(&name, &b.to_string()),
                            Written::Text(t) => parse_value(&name, &t),
                        })
                        .collect::<Result<Vec<f64>, String>>()
                        .map_err(|e| {
                            serde::de::Error::custom(format!("grid axis `{name}`: {e}"))
                        })?;
                    axes.push((name, values));
                }
                Grid::new(axes).map_err(serde::de::Error::custom)
            }
        }
        deserializer.deserialize_map(GridVisitor)
    }
}
