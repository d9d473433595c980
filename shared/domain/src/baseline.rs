//! The baseline: the registration and certification values both systems last agreed on, per
//! qualification and field (R40). A periodic run compares each side with it to tell a user's
//! change from a value the sync itself wrote.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::QualificationId;
use crate::records::{CertField, LearnerView};
use crate::value::Value;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub cert: BTreeMap<QualificationId, BTreeMap<CertField, Value>>,
}

impl Baseline {
    pub fn cert(&self, q: &QualificationId, f: CertField) -> Option<&Value> {
        self.cert.get(q).and_then(|m| m.get(&f))
    }

    /// The baseline after a run: every field on which the two sides now agree takes that value;
    /// a field on which they still differ keeps the value last agreed (so a user's clearing is
    /// still recognised as such next time).
    pub fn next(&self, view: &LearnerView) -> Baseline {
        let mut out = Baseline::default();
        for q in &view.pics.qualifications {
            let Some(aim) = q
                .onefile_aim
                .and_then(|id| view.onefile.aims.iter().find(|a| a.id == id))
            else {
                continue;
            };
            let mut m = BTreeMap::new();
            for f in CertField::ALL {
                let (pv, ov) = (q.cert.get(f), aim.cert.get(f));
                if pv == ov {
                    m.insert(f, pv);
                } else if let Some(old) = self.cert(&q.id, f) {
                    m.insert(f, old.clone());
                }
            }
            out.cert.insert(q.id.clone(), m);
        }
        out
    }
}
