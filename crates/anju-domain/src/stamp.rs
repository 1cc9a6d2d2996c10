//! Who did a business act, where, through which channel, and for whom (经办信息).
//!
//! Every use case takes a [`Stamp`] from the start, even before identity and service
//! points exist as full features: every journal entry records it and its hash covers it.

use serde::{Deserialize, Serialize};

use crate::codes::Channel;

/// Maximum length of each stamp field.
pub const MAX_STAMP_FIELD_LEN: usize = 64;

/// Why a stamp is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StampError {
    /// A required field is empty.
    #[error("stamp field {field} must not be empty")]
    Empty { field: &'static str },
    /// A field is too long or has control characters.
    #[error(
        "stamp field {field} = {value:?} must be at most {MAX_STAMP_FIELD_LEN} printable characters"
    )]
    Bad { field: &'static str, value: String },
}

/// The operator, channel, service point and beneficiary of a business act.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stamp {
    /// Who acted: `staff:<id>`, `member:<account>`, `unit:<account>`, `bank:<code>`,
    /// `system:<job>` (经办人).
    pub operator: String,
    /// Through which channel (渠道).
    pub channel: Channel,
    /// At which service point (服务网点), e.g. `hall-kecheng` or `online`.
    pub service_point: String,
    /// The member or unit the act was done for, if any (委托人).
    pub on_behalf_of: Option<String>,
}

impl Stamp {
    /// A stamp for a system batch job (e.g. interest settlement, the demo seeder).
    pub fn system(job: &str) -> Stamp {
        Stamp {
            operator: format!("system:{job}"),
            channel: Channel::Batch,
            service_point: "centre".to_owned(),
            on_behalf_of: None,
        }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), StampError> {
        check("operator", &self.operator, true)?;
        check("service_point", &self.service_point, true)?;
        if let Some(b) = &self.on_behalf_of {
            check("on_behalf_of", b, true)?;
        }
        Ok(())
    }
}

fn check(field: &'static str, value: &str, required: bool) -> Result<(), StampError> {
    if required && value.is_empty() {
        return Err(StampError::Empty { field });
    }
    if value.chars().count() > MAX_STAMP_FIELD_LEN || value.chars().any(char::is_control) {
        return Err(StampError::Bad {
            field,
            value: value.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_fields() {
        let s = Stamp::system("demo");
        assert!(s.validate().is_ok());
        let mut bad = s.clone();
        bad.operator.clear();
        assert_eq!(bad.validate(), Err(StampError::Empty { field: "operator" }));
        let mut bad = s;
        bad.service_point = "a\nb".into();
        assert!(matches!(
            bad.validate(),
            Err(StampError::Bad {
                field: "service_point",
                ..
            })
        ));
    }
}
