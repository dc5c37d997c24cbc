//! What each check of `supahook doctor` found, and the one line it prints.

use std::fmt;

/// One check's finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It passed; what was found.
    Ok(String),
    /// It failed: what is wrong and how to fix it.
    Problem {
        /// What is wrong.
        problem: String,
        /// How to put it right.
        fix: String,
    },
    /// It was not run: what would run it.
    Skipped(String),
}

/// One check, by name, with its finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked, e.g. `trigger on auth.users`.
    pub name: String,
    /// What it found.
    pub verdict: Verdict,
}

impl Check {
    /// A check that passed.
    pub fn ok(name: impl Into<String>, found: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            verdict: Verdict::Ok(found.into()),
        }
    }

    /// A check that failed, with the way to fix it.
    pub fn problem(
        name: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            verdict: Verdict::Problem {
                problem: problem.into(),
                fix: fix.into(),
            },
        }
    }

    /// A check that was not run, saying what would run it.
    pub fn skipped(name: impl Into<String>, how: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            verdict: Verdict::Skipped(how.into()),
        }
    }

    /// Whether the check failed.
    pub fn failed(&self) -> bool {
        matches!(self.verdict, Verdict::Problem { .. })
    }
}

/// `ok   NAME: FOUND`, `FAIL NAME: PROBLEM; fix: HOW` or `skip NAME: HOW`, on one line.
impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name;
        let line = match &self.verdict {
            Verdict::Ok(found) => format!("ok   {name}: {found}"),
            Verdict::Problem { problem, fix } => format!("FAIL {name}: {problem}; fix: {fix}"),
            Verdict::Skipped(how) => format!("skip {name}: {how}"),
        };
        // One line per check, whatever a server put in its message.
        f.write_str(&line.replace(['\r', '\n'], " "))
    }
}

#[cfg(test)]
mod tests {
    use super::Check;

    #[test]
    fn each_check_is_one_line_saying_ok_problem_and_fix_or_skip() {
        assert_eq!(
            Check::ok("migrations", "none pending").to_string(),
            "ok   migrations: none pending"
        );
        let failed = Check::problem("trigger", "missing\nhere", "apply it");
        assert_eq!(
            failed.to_string(),
            "FAIL trigger: missing here; fix: apply it"
        );
        assert!(failed.failed());
        let skipped = Check::skipped("probe", "pass --url");
        assert_eq!(skipped.to_string(), "skip probe: pass --url");
        assert!(!skipped.failed());
    }
}
