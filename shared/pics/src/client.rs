//! [`PicsClient`]: every call of the contract (the crate page, "Endpoints used").

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use picsync_domain::{LearnerId, OfficerId, OrganisationId, QualificationId, ReviewId};
use reqwest::{Method, Url};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

use crate::auth::{self, Bearer, Token};
use crate::config::PicsConfig;
use crate::error::PicsError;
use crate::patches::{
    LearnerPatch, NewReview, OfficerPatch, OrganisationPatch, QualificationPatch, ReviewPatch,
};
use crate::records::{
    Learner, LearnerQuery, LearnerSummary, Officer, Organisation, Page, RowVersion, WriteAnswer,
};
use crate::transport::{self, Call, Reply};
use crate::wire;

/// A listing that has not ended after this many pages is reported as broken paging.
const MAX_PAGES: u32 = 100_000;
/// Longest connect timeout, whatever the call timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A client of one PICS instance. Cheap to clone; clones share the connection pool, the bearer
/// token and the call counter.
#[derive(Clone)]
pub struct PicsClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    cfg: PicsConfig,
    /// The bearer token; the lock is held while authenticating, so concurrent calls that need
    /// a token wait for one authentication instead of each starting their own.
    token: tokio::sync::Mutex<Option<Token>>,
    calls: AtomicU64,
}

impl std::fmt::Debug for PicsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PicsClient")
            .field("base_url", &self.inner.base.as_str())
            .field("username", &self.inner.cfg.username)
            .field("calls", &self.calls())
            .finish_non_exhaustive()
    }
}

impl PicsClient {
    /// Builds a client; checks the base URL and the page size. Makes no call.
    pub fn new(cfg: PicsConfig) -> Result<Self, PicsError> {
        let mut base = Url::parse(cfg.base_url.trim())
            .map_err(|e| PicsError::Config(format!("base URL is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(PicsError::Config(
                "base URL must be an http(s) URL such as https://provider.picsweb.co.uk/app/api/v1"
                    .into(),
            ));
        }
        if cfg.page_size == 0 {
            return Err(PicsError::Config("page size must be at least 1".into()));
        }
        base.set_query(None);
        base.set_fragment(None);
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(MAX_CONNECT_TIMEOUT))
            .build()
            .map_err(|e| PicsError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                cfg,
                token: tokio::sync::Mutex::new(None),
                calls: AtomicU64::new(0),
            }),
        })
    }

    /// HTTP calls made so far by this client and its clones, retries and authentication
    /// included.
    pub fn calls(&self) -> u64 {
        self.inner.calls.load(Ordering::Relaxed)
    }

    /// Every learner matching `q`, all pages read (`GET /Learners`).
    ///
    /// Paging cannot silently lose records when the server gives smaller pages than asked: with
    /// a `TotalCount`, it reads until that many distinct learners came; without, until an empty
    /// page (or a page shorter than the `PageSize` the server says it used). A learner seen twice
    /// (the list shifted between pages) is kept once, in its latest form.
    pub async fn list_learners(&self, q: &LearnerQuery) -> Result<Vec<LearnerSummary>, PicsError> {
        let asked = self.inner.cfg.page_size;
        let mut out: Vec<LearnerSummary> = Vec::new();
        let mut seen: HashMap<LearnerId, usize> = HashMap::new();
        let mut endpoint = String::new();
        for page in 1..=MAX_PAGES {
            let mut call = self.call(Method::GET, &["Learners"])?;
            if let Some(linked) = q.one_file_linked {
                call.query.push(("oneFileLinked", linked.to_string()));
            }
            if let Some(t) = &q.modified_since {
                call.query.push(("modifiedSince", wire::format_datetime(t)));
            }
            call.query.push(("page", page.to_string()));
            call.query.push(("pageSize", asked.to_string()));
            endpoint.clone_from(&call.endpoint);
            let p: Page<LearnerSummary> = self.execute(&call, read_json).await?;
            let got = p.items.len();
            let before = out.len();
            for item in p.items {
                match seen.get(&item.learner_id) {
                    Some(&i) => out[i] = item,
                    None => {
                        seen.insert(item.learner_id.clone(), out.len());
                        out.push(item);
                    }
                }
            }
            if got == 0 {
                return Ok(out);
            }
            match p.total_count {
                Some(total) => {
                    if out.len() as u64 >= u64::try_from(total).unwrap_or(0) {
                        return Ok(out);
                    }
                    if out.len() == before {
                        return Err(PicsError::Malformed {
                            endpoint,
                            message: format!(
                                "page {page} repeated earlier learners only; paging is broken"
                            ),
                            transient: false,
                        });
                    }
                }
                None => {
                    let served = p.page_size.and_then(|s| usize::try_from(s).ok());
                    if served.is_some_and(|s| got < s) {
                        return Ok(out);
                    }
                }
            }
        }
        Err(PicsError::Malformed {
            endpoint,
            message: format!("paging did not end after {MAX_PAGES} pages"),
            transient: false,
        })
    }

    /// One learner, whole (`GET /Learners/{id}`), with the RowVersion to write back.
    pub async fn get_learner(&self, id: &LearnerId) -> Result<Learner, PicsError> {
        self.get(&["Learners", id.as_str()]).await
    }

    /// `PATCH /Learners/{id}` if the learner is still at `row_version` (R41); the new
    /// RowVersion.
    pub async fn patch_learner(
        &self,
        id: &LearnerId,
        row_version: &str,
        p: &LearnerPatch,
    ) -> Result<RowVersion, PicsError> {
        let call = self
            .call(Method::PATCH, &["Learners", id.as_str()])?
            .json(p)?
            .if_match(id.as_str(), row_version)?;
        Ok(self.execute(&call, write_answer).await?.0)
    }

    /// `PATCH /Learners/{learner}/Qualifications/{qualification}` if the learner is still at
    /// `row_version` (R41); the learner's new RowVersion.
    pub async fn patch_qualification(
        &self,
        learner: &LearnerId,
        qualification: &QualificationId,
        row_version: &str,
        p: &QualificationPatch,
    ) -> Result<RowVersion, PicsError> {
        let call = self
            .call(
                Method::PATCH,
                &[
                    "Learners",
                    learner.as_str(),
                    "Qualifications",
                    qualification.as_str(),
                ],
            )?
            .json(p)?
            .if_match(learner.as_str(), row_version)?;
        Ok(self.execute(&call, write_answer).await?.0)
    }

    /// `POST /Learners/{learner}/Reviews` if the learner is still at `row_version` (R41); the
    /// new ReviewId and the learner's new RowVersion.
    ///
    /// A create whose answer was lost is resent with the old RowVersion, which PICS then
    /// refuses (412): the caller re-reads and finds the review by its OneFile System ID, so a
    /// retry never creates a second review.
    pub async fn create_review(
        &self,
        learner: &LearnerId,
        row_version: &str,
        r: &NewReview,
    ) -> Result<(ReviewId, RowVersion), PicsError> {
        let call = self
            .call(Method::POST, &["Learners", learner.as_str(), "Reviews"])?
            .json(r)?
            .if_match(learner.as_str(), row_version)?;
        let (row_version, review_id) = self.execute(&call, write_answer).await?;
        let review_id = review_id.ok_or_else(|| PicsError::Malformed {
            endpoint: call.endpoint.clone(),
            message: "the answer has no ReviewId".into(),
            transient: false,
        })?;
        Ok((review_id, row_version))
    }

    /// `PATCH /Learners/{learner}/Reviews/{review}` if the learner is still at `row_version`
    /// (R41); the learner's new RowVersion.
    pub async fn patch_review(
        &self,
        learner: &LearnerId,
        review: &ReviewId,
        row_version: &str,
        p: &ReviewPatch,
    ) -> Result<RowVersion, PicsError> {
        let call = self
            .call(
                Method::PATCH,
                &["Learners", learner.as_str(), "Reviews", review.as_str()],
            )?
            .json(p)?
            .if_match(learner.as_str(), row_version)?;
        Ok(self.execute(&call, write_answer).await?.0)
    }

    /// `GET /Officers/{id}`.
    pub async fn get_officer(&self, id: &OfficerId) -> Result<Officer, PicsError> {
        self.get(&["Officers", id.as_str()]).await
    }

    /// `PATCH /Officers/{id}` (no RowVersion: officers are not under a learner).
    pub async fn patch_officer(&self, id: &OfficerId, p: &OfficerPatch) -> Result<(), PicsError> {
        let call = self
            .call(Method::PATCH, &["Officers", id.as_str()])?
            .json(p)?;
        self.execute(&call, |_, _| Ok(())).await
    }

    /// `GET /Organisations/{id}`.
    pub async fn get_organisation(&self, id: &OrganisationId) -> Result<Organisation, PicsError> {
        self.get(&["Organisations", id.as_str()]).await
    }

    /// `PATCH /Organisations/{id}` (no RowVersion: organisations are not under a learner).
    pub async fn patch_organisation(
        &self,
        id: &OrganisationId,
        p: &OrganisationPatch,
    ) -> Result<(), PicsError> {
        let call = self
            .call(Method::PATCH, &["Organisations", id.as_str()])?
            .json(p)?;
        self.execute(&call, |_, _| Ok(())).await
    }

    async fn get<T: DeserializeOwned>(&self, path: &[&str]) -> Result<T, PicsError> {
        let call = self.call(Method::GET, path)?;
        self.execute(&call, read_json).await
    }

    /// A call to `path` under the base URL; each segment is percent-encoded, so an id can
    /// never change the path.
    fn call(&self, method: Method, path: &[&str]) -> Result<Call, PicsError> {
        let mut url = self.inner.base.clone();
        url.path_segments_mut()
            .map_err(|()| PicsError::Config("base URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(path);
        Ok(Call::new(method, url, path))
    }

    /// Runs `call` through the shared retry loop (picsync-http), reading each successful reply
    /// with `read` inside the loop, so that a reply cut short is retried like any transient
    /// fault. (A write whose answer was lost is thus resent with its old RowVersion, and meets
    /// a 412: never applied twice.)
    async fn execute<T>(
        &self,
        call: &Call,
        read: impl Fn(&Call, &Reply) -> Result<T, PicsError>,
    ) -> Result<T, PicsError> {
        let read = &read;
        picsync_http::retry(&self.inner.cfg.retry, &call.endpoint, || async move {
            let reply = self.attempt(call).await?;
            read(call, &reply)
        })
        .await
    }

    /// One attempt: a valid token, the call, and on a 401 one renewal and one resend.
    async fn attempt(&self, call: &Call) -> Result<Reply, PicsError> {
        let bearer = self.bearer().await?;
        let reply = self.send(call, &bearer).await?;
        if reply.status != reqwest::StatusCode::UNAUTHORIZED {
            return self.check(call, reply, &bearer);
        }
        tracing::info!(endpoint = %call.endpoint, "PICS refused the bearer token; renewing it once");
        let bearer = self.renew(bearer.generation).await?;
        let reply = self.send(call, &bearer).await?;
        self.check(call, reply, &bearer)
    }

    async fn send(&self, call: &Call, bearer: &Bearer) -> Result<Reply, PicsError> {
        self.inner.calls.fetch_add(1, Ordering::Relaxed);
        transport::send(&self.inner.http, call, Some(&bearer.secret)).await
    }

    fn check(&self, call: &Call, reply: Reply, bearer: &Bearer) -> Result<Reply, PicsError> {
        let secrets = [
            self.inner.cfg.password.expose_secret(),
            bearer.secret.expose_secret(),
        ];
        transport::check(call, reply, &secrets)
    }

    /// The current token, authenticating first when there is none or it is due for renewal.
    async fn bearer(&self) -> Result<Bearer, PicsError> {
        let mut slot = self.inner.token.lock().await;
        if let Some(t) = slot.as_ref().filter(|t| t.fresh(Instant::now())) {
            return Ok(t.bearer.clone());
        }
        let generation = slot.as_ref().map_or(1, |t| t.bearer.generation + 1);
        *slot = None;
        let t = self.authenticate(generation).await?;
        let bearer = t.bearer.clone();
        *slot = Some(t);
        Ok(bearer)
    }

    /// A new token after `stale` was refused; if another call already replaced `stale`, its
    /// replacement is used, so many calls meeting one expiry authenticate once.
    async fn renew(&self, stale: u64) -> Result<Bearer, PicsError> {
        let mut slot = self.inner.token.lock().await;
        if let Some(t) = slot
            .as_ref()
            .filter(|t| t.bearer.generation != stale && t.fresh(Instant::now()))
        {
            return Ok(t.bearer.clone());
        }
        let generation = slot.as_ref().map_or(stale, |t| t.bearer.generation) + 1;
        *slot = None;
        let t = self.authenticate(generation).await?;
        let bearer = t.bearer.clone();
        *slot = Some(t);
        Ok(bearer)
    }

    /// `POST /Authentication`. Errors are those of any call, except that a refusal (400, 401,
    /// 403) is [`PicsError::Unauthorized`]; no message ever holds the password or the token.
    async fn authenticate(&self, generation: u64) -> Result<Token, PicsError> {
        let cfg = &self.inner.cfg;
        let body = serde_json::json!({
            "Username": cfg.username,
            "Password": cfg.password.expose_secret(),
        });
        let call = self.call(Method::POST, &["Authentication"])?.json(&body)?;
        let issued = Instant::now();
        let now_utc = chrono::Utc::now();
        self.inner.calls.fetch_add(1, Ordering::Relaxed);
        let reply = transport::send(&self.inner.http, &call, None).await?;
        let secrets = [cfg.password.expose_secret()];
        let status = reply.status.as_u16();
        let reply = transport::check(&call, reply, &secrets).map_err(|e| match (status, e) {
            (400 | 401 | 403, PicsError::Status { message, .. })
            | (400 | 401 | 403, PicsError::Unauthorized { message, .. }) => {
                PicsError::Unauthorized {
                    endpoint: call.endpoint.clone(),
                    message,
                }
            }
            (_, e) => e,
        })?;
        let token = auth::read_answer(&reply.body, generation, issued, now_utc).map_err(|e| {
            PicsError::Malformed {
                endpoint: call.endpoint.clone(),
                message: e.to_string(),
                transient: e == auth::AnswerError::NotJson,
            }
        })?;
        tracing::debug!(
            generation,
            renew_in_ms =
                u64::try_from(token.renew_at.saturating_duration_since(issued).as_millis())
                    .unwrap_or(u64::MAX),
            "PICS bearer token obtained"
        );
        Ok(token)
    }
}

/// Parses a reply's JSON body.
fn read_json<T: DeserializeOwned>(call: &Call, reply: &Reply) -> Result<T, PicsError> {
    transport::parse(&call.endpoint, &reply.body)
}

/// The RowVersion (from `{"RowVersion"}`, else the `ETag` header) and ReviewId of a write's
/// answer.
fn write_answer(call: &Call, reply: &Reply) -> Result<(RowVersion, Option<ReviewId>), PicsError> {
    let answer: Option<WriteAnswer> = if reply.body.trim().is_empty() {
        None
    } else {
        Some(transport::parse(&call.endpoint, &reply.body)?)
    };
    let (row_version, review_id) = answer.map_or((None, None), |a| (a.row_version, a.review_id));
    let row_version = row_version
        .or_else(|| {
            let etag = reply.headers.get(reqwest::header::ETAG)?.to_str().ok()?;
            let etag = etag.trim().trim_start_matches("W/").trim_matches('"');
            (!etag.is_empty()).then(|| etag.to_string())
        })
        .ok_or_else(|| PicsError::Malformed {
            endpoint: call.endpoint.clone(),
            message: "the answer carries no RowVersion (neither in the body nor as ETag)".into(),
            transient: false,
        })?;
    Ok((row_version, review_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Result<PicsClient, PicsError> {
        PicsClient::new(PicsConfig::new(base, "api", "pw-secret"))
    }

    #[test]
    fn urls_encode_ids_and_accept_a_trailing_slash() {
        let c = client("http://127.0.0.1:9/app/api/v1/").unwrap();
        let call = c.call(Method::GET, &["Learners", "a/b c"]).unwrap();
        assert_eq!(
            call.url.as_str(),
            "http://127.0.0.1:9/app/api/v1/Learners/a%2Fb%20c"
        );
        assert_eq!(call.endpoint, "GET /Learners/a/b c");
    }

    #[test]
    fn bad_configuration_is_refused() {
        assert!(matches!(client("not a url"), Err(PicsError::Config(_))));
        assert!(matches!(client("mailto:x@y"), Err(PicsError::Config(_))));
        let mut cfg = PicsConfig::new("http://127.0.0.1:9/app/api/v1", "api", "pw");
        cfg.page_size = 0;
        assert!(matches!(PicsClient::new(cfg), Err(PicsError::Config(_))));
    }

    #[test]
    fn debug_shows_no_password() {
        let c = client("http://127.0.0.1:9/app/api/v1").unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("pw-secret") && dbg.contains("api"), "{dbg}");
    }

    fn reply(body: &str, etag: Option<&str>) -> Reply {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(e) = etag {
            headers.insert(reqwest::header::ETAG, e.parse().unwrap());
        }
        Reply {
            status: reqwest::StatusCode::OK,
            headers,
            body: body.into(),
        }
    }

    #[test]
    fn write_answers_from_body_or_etag() {
        let c = client("http://127.0.0.1:9/app/api/v1").unwrap();
        let call = c.call(Method::PATCH, &["Learners", "L"]).unwrap();
        let (rv, _) = write_answer(&call, &reply(r#"{"RowVersion":"00A1"}"#, None)).unwrap();
        assert_eq!(rv, "00A1");
        let (rv, _) = write_answer(&call, &reply("", Some("W/\"00B2\""))).unwrap();
        assert_eq!(rv, "00B2");
        let (rv, id) = write_answer(
            &call,
            &reply(r#"{"ReviewId": 77, "RowVersion": "9"}"#, None),
        )
        .unwrap();
        assert_eq!((rv.as_str(), id), ("9", Some(ReviewId::from("77"))));
        assert!(matches!(
            write_answer(&call, &reply("", None)),
            Err(PicsError::Malformed {
                transient: false,
                ..
            })
        ));
    }
}
