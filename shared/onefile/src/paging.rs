//! Paged searches that cannot silently lose records (`POST X/Search/{page}/{size}`).
//!
//! OneFile's maximum page size is undocumented, and a server that caps pages below the size
//! asked for answers a full page that looks short. So a short page ends the search only when
//! this server is known to serve pages at least that large (it served one before, on this
//! endpoint). Otherwise the short first page may be the cap: the search goes on with that
//! length as its page size (correct whether the server counts offsets by the size asked or
//! the size served), and if the next page holds records, the cap is learnt and used from then
//! on. Records are de-duplicated by id (a record inserted during paging shifts later ones by
//! one), and a page that brings nothing new stops the search with an error rather than looping.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use reqwest::Method;
use serde_json::{Map, Value};

use crate::error::OneFileError;
use crate::records::FromWire;
use crate::transport::{Reply, Safety, Transport};
use crate::wire::parse_list;

/// A hard bound on pages per search (a million records at 100 a page).
const MAX_PAGES: u32 = 10_000;

/// What this process has learnt about page sizes, per search endpoint.
#[derive(Default)]
pub(crate) struct PageSizes {
    known: Mutex<HashMap<String, Learnt>>,
}

#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Learnt {
    /// The longest page the server has served.
    longest: u32,
    /// The server's cap, once confirmed.
    cap: Option<u32>,
}

impl PageSizes {
    fn get(&self, key: &str) -> Learnt {
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .copied()
            .unwrap_or_default()
    }

    fn update(&self, key: &str, f: impl FnOnce(&mut Learnt)) {
        let mut m = self
            .known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(m.entry(key.to_string()).or_default());
    }

    /// The cap learnt for `key`, if any.
    #[cfg(test)]
    pub(crate) fn cap(&self, key: &str) -> Option<u32> {
        self.get(key).cap
    }
}

/// The state of one paged search.
#[derive(Debug)]
pub(crate) struct Pager {
    pub(crate) page: u32,
    pub(crate) size: u32,
    /// Set while checking whether a short first page was the server's cap.
    probing: bool,
}

impl Pager {
    /// Starts at page 1, asking `wanted` records a page, or the cap when one is known.
    pub(crate) fn start(sizes: &PageSizes, key: &str, wanted: u32) -> Self {
        let size = match sizes.get(key).cap {
            Some(cap) => cap.min(wanted),
            None => wanted,
        }
        .max(1);
        Self {
            page: 1,
            size,
            probing: false,
        }
    }

    /// Records that the current page held `n` records; true when another page must be read.
    pub(crate) fn advance(&mut self, sizes: &PageSizes, key: &str, n: u32) -> bool {
        if n == 0 {
            return false;
        }
        let probing = std::mem::take(&mut self.probing);
        sizes.update(key, |l| {
            l.longest = l.longest.max(n);
            if probing {
                // the page after a short first page held records: that length is the cap
                l.cap = Some(self.size);
            }
        });
        if n >= self.size {
            self.page += 1;
            return true;
        }
        let learnt = sizes.get(key);
        if learnt.longest >= self.size || learnt.cap.is_some_and(|c| n < c) {
            return false; // a short page from a server known to serve full ones: the end
        }
        if self.page == 1 {
            // Maybe the cap: go on with pages of `n` (page 2 then starts at record n).
            self.page = 2;
            self.size = n;
            self.probing = true;
            return true;
        }
        false
    }
}

impl Transport {
    /// Every record of a paged search: `base` is the search path (`/User/Search`).
    pub(crate) async fn search_all<T: FromWire + HasId>(
        &self,
        base: &str,
        body: &Value,
    ) -> Result<Vec<T>, OneFileError> {
        Ok(self.search_checked(base, body).await?.0)
    }

    /// As [`Transport::search_all`], and what the pages showed of the server's paging
    /// ([`PagingCheck`]): a caller that relies on the pages being a consistent cut of the data
    /// (issue 16, centre-wide reads) can tell when they were not.
    pub(crate) async fn search_checked<T: FromWire + HasId>(
        &self,
        base: &str,
        body: &Value,
    ) -> Result<(Vec<T>, PagingCheck), OneFileError> {
        let mut pager = Pager::start(&self.pages, base, self.page_size);
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut check = PagingCheck::default();
        loop {
            if pager.page > MAX_PAGES {
                return Err(OneFileError::malformed(
                    &format!("POST {base}"),
                    format!("paging did not end after {MAX_PAGES} pages"),
                ));
            }
            let path = format!("{base}/{}/{}", pager.page, pager.size);
            let endpoint = format!("POST {path}");
            let items = self
                .call(
                    Method::POST,
                    &path,
                    Some(body),
                    Safety::Idempotent,
                    read_list,
                )
                .await?;
            let n = u32::try_from(items.len()).unwrap_or(u32::MAX);
            check.pages += 1;
            if n > pager.size {
                check.oversized_pages += 1;
            }
            let mut fresh = 0usize;
            for m in &items {
                let rec = T::from_map(&endpoint, m)?;
                if seen.insert(rec.id()) {
                    out.push(rec);
                    fresh += 1;
                } else {
                    check.repeated += 1;
                }
            }
            if n > 0 && fresh == 0 {
                return Err(OneFileError::malformed(
                    &endpoint,
                    format!(
                        "page {} only repeats records already read: the server does not page",
                        pager.page
                    ),
                ));
            }
            if !pager.advance(&self.pages, base, n) {
                return Ok((out, check));
            }
        }
    }

    /// Every record of an unpaged search (`POST X/Search` "returns every match", Doc).
    pub(crate) async fn search_unpaged<T: FromWire>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<Vec<T>, OneFileError> {
        let endpoint = format!("POST {path}");
        self.call(
            Method::POST,
            path,
            Some(body),
            Safety::Idempotent,
            read_list,
        )
        .await?
        .iter()
        .map(|m| T::from_map(&endpoint, m))
        .collect()
    }
}

/// What the pages of one paged search showed. OneFile's search answers are bare arrays with no
/// total count, so only what the pages themselves show can be checked: a record served on two
/// pages (a record inserted or moved while paging, or a server whose pages overlap), and a page
/// longer than the size asked for. A page shorter than asked is the end of the data, or the
/// server's cap (learnt, see the module page); a record skipped between pages cannot be seen
/// from the pages alone (`picsync probe` compares them with per-learner searches).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PagingCheck {
    /// Pages read.
    pub pages: u32,
    /// Records served again on a later page (dropped).
    pub repeated: usize,
    /// Pages that held more records than asked for.
    pub oversized_pages: u32,
}

impl PagingCheck {
    /// Whether the pages were a consistent cut of the data, as far as they show.
    pub fn consistent(&self) -> bool {
        self.repeated == 0 && self.oversized_pages == 0
    }
}

/// A search reply: 204 or an empty body is an empty list.
fn read_list(endpoint: &str, reply: &Reply) -> Result<Vec<Map<String, Value>>, OneFileError> {
    if reply.is_no_content() {
        return Ok(Vec::new());
    }
    parse_list(endpoint, &reply.body)
}

/// Records with an id, for de-duplication across pages.
pub(crate) trait HasId {
    fn id(&self) -> i64;
}

macro_rules! has_id {
    ($($t:ty),*) => { $(impl HasId for $t { fn id(&self) -> i64 { picsync_domain::OneFileId::raw(self.id) } })* };
}
has_id!(
    crate::records::User,
    crate::records::LearningAim,
    crate::records::Review
);

#[cfg(test)]
mod tests {
    use super::*;

    /// A server holding `total` records that caps pages at `cap`, computing the offset from
    /// the size asked (`offset_by_asked`) or the size served.
    fn serve(
        total: u32,
        cap: Option<u32>,
        offset_by_asked: bool,
        page: u32,
        size: u32,
    ) -> Vec<u32> {
        let served = cap.map_or(size, |c| size.min(c));
        let offset = (page - 1) * if offset_by_asked { size } else { served };
        (offset..total.min(offset + served)).collect()
    }

    fn read_all(
        sizes: &PageSizes,
        total: u32,
        cap: Option<u32>,
        by_asked: bool,
        wanted: u32,
    ) -> (Vec<u32>, u32) {
        let mut p = Pager::start(sizes, "k", wanted);
        let mut got = Vec::new();
        let mut calls = 0;
        loop {
            calls += 1;
            assert!(calls < 1000, "paging did not end");
            let page = serve(total, cap, by_asked, p.page, p.size);
            let n = page.len() as u32;
            got.extend(page);
            if !p.advance(sizes, "k", n) {
                return (got, calls);
            }
        }
    }

    #[test]
    fn nothing_is_lost_whatever_the_cap_and_offset_rule() {
        for total in [0, 1, 49, 50, 51, 99, 100, 101, 250] {
            for cap in [None, Some(1), Some(7), Some(50), Some(100), Some(500)] {
                for by_asked in [false, true] {
                    let sizes = PageSizes::default();
                    let (mut got, _) = read_all(&sizes, total, cap, by_asked, 100);
                    got.dedup();
                    assert_eq!(
                        got,
                        (0..total).collect::<Vec<_>>(),
                        "total {total} cap {cap:?} by_asked {by_asked}"
                    );
                    // and again, with what was learnt
                    let (mut again, _) = read_all(&sizes, total, cap, by_asked, 100);
                    again.dedup();
                    assert_eq!(again.len() as u32, total);
                }
            }
        }
    }

    #[test]
    fn a_cap_of_50_is_learnt_and_then_costs_no_extra_call() {
        let sizes = PageSizes::default();
        // 120 records, cap 50, asking 100: 50 + 50 + 20, found via the probe
        let (got, calls) = read_all(&sizes, 120, Some(50), true, 100);
        assert_eq!(got.len(), 120);
        assert_eq!(calls, 3);
        assert_eq!(sizes.cap("k"), Some(50));
        // later searches ask 50 directly; a short page is then the end
        let (got, calls) = read_all(&sizes, 30, Some(50), true, 100);
        assert_eq!((got.len(), calls), (30, 1));
    }

    #[test]
    fn a_short_page_from_a_server_known_to_serve_full_pages_ends_the_search() {
        let sizes = PageSizes::default();
        let (got, calls) = read_all(&sizes, 130, None, false, 100);
        assert_eq!((got.len(), calls), (130, 2));
        let (got, calls) = read_all(&sizes, 30, None, false, 100);
        assert_eq!((got.len(), calls), (30, 1));
    }
}
