//! Shared set-up of the scenario tests: both simulators seeded with the world, a tenant whose
//! clients point at them, and an engine over in-memory state.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use picsync_domain::settings::Environment;
use picsync_domain::{OfCentreId, Settings, TenantId};
use picsync_engine::{Clock, Engine, Tenant};
use picsync_http::RetryPolicy;
use picsync_onefile::{OneFileClient, OneFileConfig, Pacer};
use picsync_pics::{PicsClient, PicsConfig};
use picsync_sim::world::{self, Running};
use picsync_state::embedded::EmbeddedState;
use secrecy::SecretString;

/// OneFile's minute, scaled down for tests.
pub(crate) const WINDOW: Duration = Duration::from_millis(400);

/// One test's day: the date its world is seeded for (Europe/London) and the clock every engine
/// of the test runs on, the real time held at the day's last millisecond should the test run
/// past London midnight (`world::clock_of_day`, issue 15 item 5).
#[derive(Clone)]
pub(crate) struct Day {
    pub today: NaiveDate,
    pub clock: Clock,
}

impl Day {
    /// Today, as of now.
    pub(crate) fn now() -> Self {
        let today = world::today();
        Self {
            today,
            clock: Arc::new(world::clock_of_day(today)),
        }
    }
}

pub(crate) fn settings(onefile_url: &str) -> Settings {
    Settings {
        integration_enabled: true,
        desktop_integration_disabled: true,
        environment: Environment::Custom(onefile_url.to_string()),
        ..Settings::default()
    }
}

pub(crate) fn tenant(sims: &Running, settings: Settings) -> Tenant {
    let mut pc = PicsConfig::new(
        sims.pics.base_url(),
        world::PICS_USERNAME,
        SecretString::from(world::PICS_PASSWORD),
    );
    pc.retry = RetryPolicy::fast();
    pc.timeout = Duration::from_secs(2);
    let pics = PicsClient::new(pc).expect("PICS client");
    let mut oc = OneFileConfig::new(
        sims.onefile.base_url(),
        SecretString::from(world::ONEFILE_TOKEN),
    );
    oc.retry = RetryPolicy::fast();
    oc.rate_window = WINDOW;
    oc.timeout = Duration::from_secs(2);
    let onefile = OneFileClient::new(oc, Pacer::new(settings.onefile_calls_per_minute, WINDOW))
        .expect("OneFile client");
    Tenant {
        id: TenantId::from("acme"),
        settings,
        pics,
        onefile,
        centre: Some(OfCentreId(world::CENTRE)),
    }
}

pub(crate) struct Env {
    pub day: Day,
    pub sims: Running,
    pub tenant: Tenant,
    pub engine: Engine<EmbeddedState>,
}

impl Env {
    /// Enrols the PICS learner `learner` (R6) with the request's defaults.
    pub(crate) async fn enrol(
        &self,
        learner: &str,
    ) -> Result<picsync_engine::EnrolReport, picsync_engine::EngineError> {
        self.engine
            .enrol(
                &self.tenant,
                &picsync_engine::EnrolRequest {
                    learner: picsync_domain::LearnerId::new(learner),
                    ..Default::default()
                },
            )
            .await
    }
}

pub(crate) async fn env(learners: usize) -> Env {
    let day = Day::now();
    let sims = world::start(learners, day.today, (300, WINDOW))
        .await
        .expect("simulators start on 127.0.0.1");
    let tenant = tenant(&sims, settings(&sims.onefile.base_url()));
    let engine = Engine::new(
        Arc::new(EmbeddedState::in_memory().expect("state")),
        day.clock.clone(),
    );
    Env {
        day,
        sims,
        tenant,
        engine,
    }
}
