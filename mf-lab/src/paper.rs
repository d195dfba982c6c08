//! The paper's published numbers (Table IV) and selections (Tables V-VIII) in the library's own types, from
//! [`mf_paper`], the one place they are written.

use crate::grid::Params;
use crate::metric::Metric;
use crate::models::ModelKind;

pub use mf_paper::{normalise, symbol, Score as PaperScore};

/// The paper's names of its data sets, in the row order of its tables.
pub fn datasets() -> Vec<&'static str> {
    mf_paper::dataset_names().collect()
}

/// The row of `dataset` in the paper's tables, matching names by [`normalise`].
pub fn row(dataset: &str) -> Option<usize> {
    mf_paper::row_of(dataset)
}

/// The paper's metric for `dataset`: RMSE for the three flood-modelling sets, accuracy for the others.
pub fn metric(dataset: &str) -> Option<Metric> {
    mf_paper::dataset(dataset).map(|d| {
        if d.is_regression() {
            Metric::Rmse
        } else {
            Metric::Accuracy
        }
    })
}

/// The paper's Table IV entry of `model` on `dataset`.
pub fn table_iv(dataset: &str, model: ModelKind) -> Option<PaperScore> {
    mf_paper::table_iv(dataset, model.model().paper()?)
}

/// The hyper-parameters the paper selected for `model` on `dataset` (Tables V-VIII), with the grid's names.
pub fn selected(dataset: &str, model: ModelKind) -> Option<Params> {
    model.model().preset(dataset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_papers_selections_lie_in_the_table_iii_grids_except_one_printed_outlier() {
        let mut outside = Vec::new();
        for d in datasets() {
            for m in ModelKind::TABLE_ORDER {
                let p = selected(d, m).unwrap();
                if m.paper_grid().index_of(&p).is_none() {
                    outside.push((d, m));
                }
            }
        }
        assert_eq!(outside, [("FloodModeling2", ModelKind::Esn)]);
        assert_eq!(metric("flood-modeling-1"), Some(Metric::Rmse));
        assert_eq!(metric("ECG5000"), Some(Metric::Accuracy));
        assert_eq!(table_iv("ecg5000", ModelKind::MfEsn).unwrap().mean, 0.924);
    }
}
