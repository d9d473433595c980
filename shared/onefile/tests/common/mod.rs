//! Helpers shared by the client tests: a seeded simulator and a client tuned for tests
//! (short timeouts, fast retries, a scaled-down rate window).
#![allow(dead_code)]

use std::time::Duration;

use picsync_domain::{OfCentreId, OfUserId};
use picsync_http::RetryPolicy;
use picsync_onefile::{OneFileClient, OneFileConfig, Pacer, SecretString};
use picsync_sim::onefile::{OneFileSim, OneFileSimBuilder, Population};

/// A running simulator and what was seeded in it.
pub(crate) struct World {
    pub sim: OneFileSim,
    pub pop: Population,
}

/// Starts `builder` with a centre of `learners` learners (2 learning aims and 3 reviews each).
pub(crate) async fn world(builder: OneFileSimBuilder, learners: usize) -> World {
    let mut pop = Population::default();
    let sim = builder
        .seed(|s| pop = s.populate("North", learners, 2, 3))
        .start()
        .await;
    World { sim, pop }
}

/// A configuration for tests: 2 s timeout, fast retries, a 600 ms rate window.
pub(crate) fn config(sim: &OneFileSim) -> OneFileConfig {
    let mut c = OneFileConfig::new(
        sim.base_url(),
        SecretString::from(sim.customer_token().to_string()),
    );
    c.retry = RetryPolicy::fast();
    c.timeout = Duration::from_secs(2);
    c.rate_window = Duration::from_millis(600);
    c
}

/// A pacer that never slows a test down.
pub(crate) fn unpaced() -> Pacer {
    Pacer::new(100_000, Duration::from_secs(1))
}

/// A client with [`config`] and no effective pacing.
pub(crate) fn client(sim: &OneFileSim) -> OneFileClient {
    OneFileClient::new(config(sim), unpaced()).unwrap()
}

/// A client with a custom configuration and no effective pacing.
pub(crate) fn client_with(cfg: OneFileConfig) -> OneFileClient {
    OneFileClient::new(cfg, unpaced()).unwrap()
}

impl World {
    /// The seeded centre, as the client names it.
    pub(crate) fn centre(&self) -> OfCentreId {
        OfCentreId(self.pop.centre_id)
    }

    /// The `i`th seeded learner, as the client names it.
    pub(crate) fn learner(&self, i: usize) -> OfUserId {
        OfUserId(self.pop.learner_ids[i])
    }

    /// The `i`th seeded assessor, as the client names it.
    pub(crate) fn assessor(&self, i: usize) -> OfUserId {
        OfUserId(self.pop.assessor_ids[i])
    }
}
