//! Fault injection for tests: lose, delay or reorder the real-time signals
//! on their way to this instance's dispatcher, as a lossy network, a full
//! queue or a slow instance would. Production builds pass
//! [`Faults::none`], which costs nothing.

use std::sync::Arc;
use std::time::Duration;

use missive_infra::Signal;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// What happens to one signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Passed on at once.
    Deliver,
    /// Lost.
    Drop,
    /// Passed on after this long (so later signals overtake it).
    Delay(Duration),
}

type Rule = dyn Fn(&Signal) -> Fate + Send + Sync;

/// Faults to inject into an [`crate::Application`].
#[derive(Clone, Default)]
pub struct Faults {
    signals: Option<Arc<Rule>>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("signals", &self.signals.is_some())
            .finish()
    }
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Decides the fate of every signal this instance receives.
    pub fn on_signals(rule: impl Fn(&Signal) -> Fate + Send + Sync + 'static) -> Self {
        Self {
            signals: Some(Arc::new(rule)),
        }
    }

    /// `input` as the dispatcher should see it: itself without faults,
    /// else a channel fed by a task applying the rule until `stop`.
    pub(crate) fn apply(
        &self,
        mut input: broadcast::Receiver<Signal>,
        stop: CancellationToken,
    ) -> broadcast::Receiver<Signal> {
        let Some(rule) = self.signals.clone() else {
            return input;
        };
        let (output, received) = broadcast::channel(65_536);
        tokio::spawn(async move {
            loop {
                let signal = tokio::select! {
                    () = stop.cancelled() => return,
                    next = input.recv() => match next {
                        Ok(signal) => signal,
                        Err(broadcast::error::RecvError::Lagged(_)) => Signal::Resync,
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                };
                match rule(&signal) {
                    Fate::Deliver => {
                        let _ = output.send(signal);
                    }
                    Fate::Drop => {}
                    Fate::Delay(after) => {
                        let output = output.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(after).await;
                            let _ = output.send(signal);
                        });
                    }
                }
            }
        });
        received
    }
}
