//! The optional sign-up policy: which email domains may create an account.

/// Allowed and blocked email domains. A domain also covers its subdomains.
#[derive(Debug, Clone, Default)]
pub struct SignUpPolicy {
    allowed: Vec<String>,
    blocked: Vec<String>,
}

/// Why a sign-up was refused; the message is shown to the person signing up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl SignUpPolicy {
    /// A policy from lower-case domain lists; both empty allows everyone.
    pub fn new(allowed: Vec<String>, blocked: Vec<String>) -> Self {
        Self { allowed, blocked }
    }

    /// Checks a sign-up's email. Sign-ups without an email (phone, anonymous) are
    /// not restricted by an email-domain policy.
    pub fn check(&self, email: Option<&str>) -> Result<(), Refusal> {
        let Some(domain) = email
            .and_then(|e| e.rsplit_once('@'))
            .map(|(_, d)| d.to_ascii_lowercase())
        else {
            return Ok(());
        };
        let covers = |rule: &String| domain == *rule || domain.ends_with(&format!(".{rule}"));
        if self.blocked.iter().any(covers)
            || (!self.allowed.is_empty() && !self.allowed.iter().any(covers))
        {
            return Err(Refusal(
                "Sign-ups from this email domain are not allowed.".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allowed: &[&str], blocked: &[&str]) -> SignUpPolicy {
        let own = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        SignUpPolicy::new(own(allowed), own(blocked))
    }

    #[test]
    fn an_empty_policy_allows_everyone() {
        assert!(policy(&[], &[]).check(Some("a@anything.io")).is_ok());
    }

    #[test]
    fn blocked_domains_and_their_subdomains_are_refused() {
        let p = policy(&[], &["spam.test"]);
        assert!(p.check(Some("x@spam.test")).is_err());
        assert!(p.check(Some("x@MAIL.Spam.Test")).is_err());
        assert!(p.check(Some("x@notspam.test")).is_ok());
    }

    #[test]
    fn an_allow_list_refuses_everything_else() {
        let p = policy(&["example.com"], &[]);
        assert!(p.check(Some("ada@example.com")).is_ok());
        assert!(p.check(Some("ada@eu.example.com")).is_ok());
        assert!(p.check(Some("ada@example.org")).is_err());
    }

    #[test]
    fn sign_ups_without_email_are_not_restricted() {
        let p = policy(&["example.com"], &[]);
        assert!(p.check(None).is_ok());
        assert!(p.check(Some("not-an-email")).is_ok());
    }
}
