//! The seeded draw of injected faults; see [`FaultConfig`] for what each fault does.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::FaultConfig;
use crate::state::lock;

/// The fault drawn for one create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    ServerError,
    RateLimit,
    Delay(Duration),
    CutAfterStore,
}

impl Fault {
    /// The value of the `x-sandbox-fault` header on an answer to this fault.
    pub(crate) fn header_value(self) -> &'static str {
        match self {
            Fault::ServerError => "server_error",
            Fault::RateLimit => "rate_limit",
            Fault::Delay(_) => "delay",
            Fault::CutAfterStore => "cut_after_store",
        }
    }
}

/// Draws faults from a random sequence seeded by the configuration.
///
/// `StdRng` gives the same sequence for the same seed with the same `rand` version (the
/// lock file pins it), which is all reproducing a test run needs.
#[derive(Debug)]
pub(crate) struct FaultInjector {
    config: FaultConfig,
    rng: Mutex<StdRng>,
}

impl FaultInjector {
    pub(crate) fn new(config: FaultConfig) -> Self {
        let rng = Mutex::new(StdRng::seed_from_u64(config.seed));
        Self { config, rng }
    }

    /// The fault for the next create, in arrival order. Exactly one number is drawn per call,
    /// so the n-th create gets the same fault whatever happened to the others.
    pub(crate) fn draw(&self) -> Option<Fault> {
        let roll: f64 = lock(&self.rng).random();
        let faults = [
            Fault::ServerError,
            Fault::RateLimit,
            Fault::Delay(self.config.delay),
            Fault::CutAfterStore,
        ];
        let mut upper = 0.0;
        for ((_, rate), fault) in self.config.rates().into_iter().zip(faults) {
            upper += rate;
            if roll < upper {
                return Some(fault);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(config: FaultConfig, count: usize) -> Vec<Option<Fault>> {
        let injector = FaultInjector::new(config);
        (0..count).map(|_| injector.draw()).collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_faults() {
        let config = FaultConfig::seeded(42)
            .server_error_rate(0.25)
            .rate_limit_rate(0.25)
            .delay_rate(0.25)
            .cut_after_store_rate(0.25);
        let first = draws(config.clone(), 64);
        assert_eq!(first, draws(config.clone(), 64));
        assert_ne!(first, draws(config.seed(43), 64));
        for kind in ["server_error", "rate_limit", "delay", "cut_after_store"] {
            assert!(
                first.iter().flatten().any(|f| f.header_value() == kind),
                "{kind}"
            );
        }
        assert!(!first.contains(&None), "the rates add up to 1");
    }

    #[test]
    fn no_rates_no_faults_and_full_rate_always() {
        assert!(
            draws(FaultConfig::seeded(1), 64)
                .iter()
                .all(Option::is_none)
        );
        let always = draws(FaultConfig::seeded(1).server_error_rate(1.0), 64);
        assert!(always.iter().all(|f| *f == Some(Fault::ServerError)));
    }
}
