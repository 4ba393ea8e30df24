//! The allow-filters: which holders this run may signal. Every filter given
//! must match (they narrow); `--any` allows every holder.

use crate::holder::Holder;
use regex::Regex;

#[derive(Debug, Default)]
pub struct Allow {
    pub comm: Option<Regex>,
    pub exe: Option<String>,
    pub unit: Option<String>,
    /// The name as given and its uid.
    pub user: Option<(String, u32)>,
    pub any: bool,
}

impl Allow {
    /// Builds the filters; errors name the flag and the value.
    pub fn new(
        comm: Option<&str>,
        exe: Option<&str>,
        unit: Option<&str>,
        user: Option<(&str, Option<u32>)>,
        any: bool,
    ) -> Result<Allow, String> {
        for (flag, value) in [("--only-comm", comm), ("--only-unit", unit)] {
            if value == Some("") {
                return Err(format!(
                    "{flag} is empty (an unset variable?): it would allow every holder; give a value, or --any to mean any holder"
                ));
            }
        }
        let comm = comm
            .map(|text| {
                Regex::new(text)
                    .map_err(|e| format!("--only-comm {text:?} is not a valid regex: {e}"))
            })
            .transpose()?;
        let user = match user {
            None => None,
            Some((name, Some(uid))) => Some((name.to_owned(), uid)),
            Some((name, None)) => {
                return Err(format!(
                    "--only-user {name:?}: no such user in the passwd file (give a name or a numeric uid)"
                ));
            }
        };
        Ok(Allow {
            comm,
            exe: exe.map(str::to_owned),
            unit: unit.map(unit_name),
            user,
            any,
        })
    }

    /// Was any filter (or `--any`) given? Killing needs one.
    #[must_use]
    pub fn is_set(&self) -> bool {
        self.any
            || self.comm.is_some()
            || self.exe.is_some()
            || self.unit.is_some()
            || self.user.is_some()
    }

    /// `None` if `holder` may be signalled, else the filter that says no,
    /// as the user typed it (`--only-comm node`).
    #[must_use]
    pub fn refusal(&self, holder: &Holder) -> Option<String> {
        if let Some(comm) = &self.comm
            && !comm.is_match(&holder.comm)
        {
            return Some(format!("--only-comm {}", comm.as_str()));
        }
        if let Some(exe) = &self.exe
            && holder.exe.as_deref() != Some(exe.as_str())
        {
            return Some(format!("--only-exe {exe}"));
        }
        if let Some(unit) = &self.unit
            && holder.unit.as_ref().map(|u| u.name.as_str()) != Some(unit.as_str())
        {
            return Some(format!("--only-unit {unit}"));
        }
        if let Some((name, uid)) = &self.user
            && holder.uid != Some(*uid)
        {
            return Some(format!("--only-user {name}"));
        }
        if self.is_set() {
            None
        } else {
            Some("no allow-filter".into())
        }
    }
}

/// `gateway` means `gateway.service`, as systemctl reads it.
#[must_use]
pub fn unit_name(text: &str) -> String {
    let known = [
        ".service", ".scope", ".socket", ".slice", ".timer", ".mount", ".target",
    ];
    if known.iter().any(|suffix| text.ends_with(suffix)) {
        text.to_owned()
    } else {
        format!("{text}.service")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::Unit;

    fn holder(comm: &str, uid: u32, unit: Option<&str>) -> Holder {
        Holder {
            pid: 4242,
            ppid: 1,
            pgrp: 4000,
            uid: Some(uid),
            user: "someone".into(),
            comm: comm.into(),
            cmdline: String::new(),
            exe: Some(format!("/usr/bin/{comm}")),
            starttime: 1,
            started_unix: None,
            state: 'S',
            kernel_thread: false,
            unit: unit.map(|name| Unit {
                name: name.into(),
                user: None,
            }),
            parent_comm: None,
            orphan: true,
            supervisor: None,
            inodes: vec![],
        }
    }

    #[test]
    fn every_given_filter_must_match() {
        let allow =
            Allow::new(Some("^node$"), None, None, Some(("app", Some(1000))), false).unwrap();
        assert_eq!(allow.refusal(&holder("node", 1000, None)), None);
        assert_eq!(
            allow.refusal(&holder("nodejs", 1000, None)).unwrap(),
            "--only-comm ^node$"
        );
        assert_eq!(
            allow.refusal(&holder("node", 104, None)).unwrap(),
            "--only-user app"
        );
    }

    #[test]
    fn exe_and_unit_filters() {
        let allow = Allow::new(None, Some("/usr/bin/node"), Some("gateway"), None, false).unwrap();
        assert_eq!(
            allow.refusal(&holder("node", 0, Some("gateway.service"))),
            None
        );
        assert!(
            allow
                .refusal(&holder("node", 0, Some("postgresql.service")))
                .is_some()
        );
        assert!(
            allow
                .refusal(&holder("deno", 0, Some("gateway.service")))
                .is_some()
        );
    }

    #[test]
    fn nothing_given_allows_nothing_and_any_allows_all() {
        assert!(Allow::default().refusal(&holder("node", 0, None)).is_some());
        let any = Allow::new(None, None, None, None, true).unwrap();
        assert!(any.is_set());
        assert_eq!(any.refusal(&holder("postgres", 104, None)), None);
    }

    #[test]
    fn bad_values_name_the_flag() {
        assert!(
            Allow::new(Some("("), None, None, None, false)
                .unwrap_err()
                .contains("--only-comm")
        );
        let err = Allow::new(None, None, None, Some(("nobody-x", None)), false).unwrap_err();
        assert!(err.contains("--only-user \"nobody-x\""), "{err}");
        assert_eq!(unit_name("gateway"), "gateway.service");
        assert_eq!(unit_name("a.scope"), "a.scope");
    }
}
