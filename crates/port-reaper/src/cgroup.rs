//! Which systemd unit a process belongs to, from `/proc/<pid>/cgroup`, and
//! which parents are supervisors or subreapers (they would restart what we
//! kill, or adopted an orphan).

/// The unit a cgroup path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// `postgresql.service`, `session-3.scope`.
    pub name: String,
    /// For a unit of a user manager (`user@1000.service/.../x.service`): 1000.
    pub user: Option<u32>,
}

impl Unit {
    /// A service restarts what is killed; a scope (a login session, a
    /// `systemd-run --scope`) does not.
    #[must_use]
    pub fn is_service(&self) -> bool {
        self.name.ends_with(".service")
    }
}

/// The cgroup path from a `/proc/<pid>/cgroup` text: the unified (`0::`)
/// line, else the `name=systemd` one of a v1 hierarchy.
#[must_use]
pub fn path(text: &str) -> Option<&str> {
    let line = |prefix: &str| {
        text.lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(_, rest)| rest.starts_with(prefix))
            })
            .map(|(_, rest)| &rest[prefix.len()..])
    };
    line(":")
        .filter(|p| *p != "/")
        .or_else(|| line("name=systemd:"))
}

/// The innermost service or scope in a cgroup path.
#[must_use]
pub fn unit(path: &str) -> Option<Unit> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let index = parts
        .iter()
        .rposition(|p| matches!(p.rsplit_once('.'), Some((_, "service" | "scope"))))?;
    let name = parts[index];
    if name == "init.scope" {
        return None;
    }
    let user = parts[..index].iter().find_map(|p| {
        p.strip_prefix("user@")?
            .strip_suffix(".service")?
            .parse()
            .ok()
    });
    // user@1000.service itself is the user manager, not a user unit.
    let user = user.filter(|_| !name.starts_with("user@"));
    Some(Unit {
        name: name.to_owned(),
        user,
    })
}

/// Parents that restart a child they lose (comm, as the kernel truncates
/// it to 15 bytes; matched as a prefix).
const SUPERVISORS: [&str; 11] = [
    "supervisord",
    "runsv",
    "s6-supervise",
    "monit",
    "dockerd",
    "containerd-shim",
    "PM2 ",
    "pm2",
    "ollama app",
    "Ollama",
    "circusd",
];

/// Parents that adopt orphans (PR_SET_CHILD_SUBREAPER).
const SUBREAPERS: [&str; 6] = [
    "systemd",
    "tini",
    "dumb-init",
    "catatonit",
    "docker-init",
    "s6-svscan",
];

/// The supervisor a parent is, by its comm.
#[must_use]
pub fn supervisor(parent_comm: &str, parent_pid: i32) -> Option<&'static str> {
    if parent_comm == "systemd" && parent_pid != 1 {
        return Some("systemd (user manager)");
    }
    SUPERVISORS
        .iter()
        .copied()
        .find(|s| parent_comm.starts_with(s))
}

#[must_use]
pub fn is_subreaper(parent_comm: &str) -> bool {
    SUBREAPERS.contains(&parent_comm) || parent_comm.starts_with("containerd-shim")
}

#[cfg(test)]
mod tests {
    use super::*;

    // The first three are the paths systemd 252 gives on a unified
    // hierarchy; V1 was captured in this build container (cgroup v1 with a
    // name=systemd line), V1_UNIT is that layout with a unit.
    const UNIFIED: &str = "0::/system.slice/postgresql@15-main.service\n";
    const USER: &str =
        "0::/user.slice/user-1000.slice/user@1000.service/app.slice/ollama.service\n";
    const SESSION: &str = "0::/user.slice/user-1000.slice/session-3.scope\n";
    const V1: &str = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/d83a7c4f\n1:cpu:/\n0::/\n";
    const V1_UNIT: &str = "12:name=systemd:/system.slice/gateway.service\n0::/\n";

    #[test]
    fn finds_system_and_user_units() {
        let unit = unit(path(UNIFIED).unwrap()).unwrap();
        assert_eq!(unit.name, "postgresql@15-main.service");
        assert!(unit.is_service() && unit.user.is_none());
        let user = super::unit(path(USER).unwrap()).unwrap();
        assert_eq!(
            (user.name.as_str(), user.user),
            ("ollama.service", Some(1000))
        );
        let session = super::unit(path(SESSION).unwrap()).unwrap();
        assert!(!session.is_service());
    }

    #[test]
    fn v1_hierarchies_use_the_name_systemd_line() {
        assert_eq!(path(V1), Some("/"));
        assert_eq!(unit(path(V1).unwrap()), None);
        assert_eq!(
            unit(path(V1_UNIT).unwrap()).unwrap().name,
            "gateway.service"
        );
    }

    #[test]
    fn init_scope_and_the_user_manager_are_not_units_to_stop() {
        assert_eq!(unit("/init.scope"), None);
        let manager = unit("/user.slice/user-1000.slice/user@1000.service/init.scope");
        assert_eq!(manager, None);
        let manager = unit("/user.slice/user-1000.slice/user@1000.service").unwrap();
        assert_eq!(manager.user, None);
    }

    #[test]
    fn supervisors_and_subreapers_by_parent() {
        assert_eq!(supervisor("supervisord", 40), Some("supervisord"));
        assert_eq!(supervisor("containerd-shim", 40), Some("containerd-shim"));
        assert_eq!(
            supervisor("systemd", 1),
            None,
            "PID 1 counts through the cgroup"
        );
        assert!(supervisor("systemd", 900).is_some());
        assert_eq!(supervisor("bash", 40), None);
        assert!(is_subreaper("tini") && !is_subreaper("bash"));
    }
}
