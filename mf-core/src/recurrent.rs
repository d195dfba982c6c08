//! What every model advanced one time step at a time shares: the streams of the reservoir models
//! (`mf_esn::ReservoirStream`, `mf_esn::DeepStream`) and of the trained ones (`mf_rnn::RnnStream`), so that code
//! over a stream (the experiment library's saved models, `mf predict --stream`) is written once.

use ndarray::ArrayView2;

/// A recurrent model's state after the samples pushed so far, from the zero state.
pub trait Recurrent {
    /// Why a sample could not be taken.
    type Error;

    /// Advances by one time step with `x`, one value per input dimension. After an error the state is where it
    /// was before the call.
    fn push(&mut self, x: &[f32]) -> Result<(), Self::Error>;

    /// Samples pushed since the zero state.
    fn steps(&self) -> usize;

    /// Back to the zero state, for the next series (with cycle-to-cycle device noise, the next series of the
    /// run).
    fn reset(&mut self);

    /// Pushes every step of one series, `(n_steps, n_inputs)`, in order.
    fn push_series(&mut self, series: ArrayView2<'_, f32>) -> Result<(), Self::Error> {
        for row in series.rows() {
            match row.as_slice() {
                Some(x) => self.push(x)?,
                None => self.push(&row.to_vec())?,
            }
        }
        Ok(())
    }
}
