//! How trainable models stop early and which weights they keep: the protocol of model selection and of the
//! final trials.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::LabError;

/// The early-stopping protocol of the trainable models (MF-RNN, RNN). Reservoir models are not affected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrainingProtocol {
    /// The authors' reference implementation: model selection fits on 80% of the training split and stops on
    /// the validation loss of the other 20%; each final model trains on the whole training split and stops on
    /// its training loss (Keras `EarlyStopping(monitor='loss')`). Patience 10 both times (paper Sec. VI), last
    /// weights kept. The default.
    #[default]
    Reference,
    /// Model selection as above but restoring the weights of the lowest validation loss; each final model
    /// holds out a fresh 20% of the training split (seeded by its trial), stops on its loss and restores the
    /// best weights.
    FreshSplit,
}

impl TrainingProtocol {
    /// Both protocols.
    pub const ALL: [TrainingProtocol; 2] =
        [TrainingProtocol::Reference, TrainingProtocol::FreshSplit];

    /// The name in specs and on the command line (`reference`, `fresh-split`).
    pub fn id(self) -> &'static str {
        match self {
            TrainingProtocol::Reference => "reference",
            TrainingProtocol::FreshSplit => "fresh-split",
        }
    }

    /// Whether the weights of the best epoch are restored when training stops.
    pub fn restores_best(self) -> bool {
        matches!(self, TrainingProtocol::FreshSplit)
    }
}

impl fmt::Display for TrainingProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for TrainingProtocol {
    type Err = LabError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|p| p.id() == s).ok_or_else(|| {
            LabError::InvalidSpec(format!(
                "unknown training protocol `{s}` (expected reference or fresh-split)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::grid::Params;
    use crate::models::trial_split;
    use crate::models::{CancelToken, ModelKind, TrialContext, TrialData};
    use crate::spec::Spec;
    use crate::tasks::{load_dataset, Task};

    fn task() -> Task {
        Task::from_dataset(&load_dataset(Path::new("."), "synthetic-control").unwrap()).unwrap()
    }

    fn small() -> Params {
        [("n_units", 8.0), ("max_epochs", 60.0), ("lr", 0.01)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    fn final_trial(protocol: TrainingProtocol, task: &Task) -> f64 {
        let config = ModelKind::MfRnn.model().configure(&small()).unwrap();
        let data = TrialData {
            train: &task.train,
            val: None,
            eval: task.test().unwrap(),
            protocol,
        };
        let ctx = TrialContext {
            on_event: &|_| {},
            cancel: &CancelToken::new(),
        };
        config.trial(&data, 5, &ctx).unwrap().score
    }

    /// The same final trial through mf-rnn's own API: an independent statement of each protocol.
    fn by_hand(protocol: TrainingProtocol, task: &Task) -> f64 {
        let c = ModelKind::MfRnn.model().configure(&small()).unwrap();
        let mut config = c
            .as_any()
            .downcast_ref::<mf_rnn::RnnConfig>()
            .unwrap()
            .clone()
            .seed(5);
        let test = task.test().unwrap();
        let model = match protocol {
            TrainingProtocol::Reference => {
                config.restore_best = false;
                let never = std::sync::atomic::AtomicBool::new(false);
                mf_rnn::train_with(
                    &config,
                    (&task.train.seqs, &task.train.targets),
                    None,
                    &mut |_| {},
                    &never,
                )
            }
            TrainingProtocol::FreshSplit => {
                config.restore_best = true;
                let (fit, val) = trial_split(&task.train, 5);
                mf_rnn::train(
                    &config,
                    (&fit.seqs, &fit.targets),
                    (&val.seqs, &val.targets),
                    &mut |_| {},
                )
            }
        }
        .unwrap();
        model.score(&test.seqs, &test.targets).unwrap()
    }

    #[test]
    fn each_protocol_trains_its_final_models_as_it_says() {
        let t = task();
        for p in TrainingProtocol::ALL {
            assert_eq!(final_trial(p, &t), by_hand(p, &t), "{p}");
        }
    }

    #[test]
    fn the_protocol_is_part_of_trainable_specs_and_jobs_only() {
        let reservoirs = Spec::from_toml("datasets = [\"a\"]\nmodels = [\"esn\"]").unwrap();
        assert!(!reservoirs.canonical_json().contains("protocol"));
        assert!(Spec::from_toml(
            "datasets = [\"a\"]\nmodels = [\"esn\"]\nprotocol = \"fresh-split\""
        )
        .is_err());
        let reference = Spec::from_toml("datasets = [\"a\"]\nmodels = [\"esn\", \"rnn\"]").unwrap();
        assert!(reference
            .canonical_json()
            .contains("\"protocol\":\"reference\""));
        let fresh = Spec::from_toml(
            "datasets = [\"a\"]\nmodels = [\"esn\", \"rnn\"]\nprotocol = \"fresh-split\"",
        )
        .unwrap();
        assert_ne!(reference.hash(), fresh.hash());
        assert!(
            Spec::from_toml("datasets = [\"a\"]\nmodels = [\"rnn\"]\nprotocol = \"best\"").is_err()
        );
        let jobs = crate::job::validation_jobs(&fresh);
        for j in &jobs {
            let expected = (!j.key.model.is_reservoir()).then_some(TrainingProtocol::FreshSplit);
            assert_eq!(j.protocol, expected, "{}", j.key);
        }
        // A reservoir job's record is written as before: no protocol field.
        let esn = jobs.iter().find(|j| j.key.model == ModelKind::Esn).unwrap();
        assert!(!serde_json::to_string(esn).unwrap().contains("protocol"));
        let rnn = jobs.iter().find(|j| j.key.model == ModelKind::Rnn).unwrap();
        assert!(serde_json::to_string(rnn)
            .unwrap()
            .contains("\"protocol\":\"fresh-split\""));
    }
}
