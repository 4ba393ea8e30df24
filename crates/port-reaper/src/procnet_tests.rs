//! `/proc/net/*` samples captured on this host (Debian 12, kernel 6.18,
//! little-endian): a listener on 127.0.0.1:54461 with one accepted
//! connection, a dual-stack [::]:53341 listener with one, and a UDP socket
//! on [::1]:58550.

use super::*;

const TCP: &str = concat!(
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     \n",
    "   2: 0100007F:D4BD 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 71824 1 000000004768eec8 100 0 0 10 0                     \n",
    "   6: 0100007F:D73C 0100007F:D4BD 01 00000000:00000000 00:00000000 00000000     0        0 71826 1 00000000b6f05ba8 20 0 0 10 -1                     \n",
    "   7: 0100007F:D4BD 0100007F:D73C 01 00000000:00000000 00:00000000 00000000     0        0 71827 1 000000009d5661f6 20 0 0 10 -1                     \n",
);

const TCP6: &str = concat!(
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
    "   0: 00000000000000000000000000000000:D05D 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 71825 1 00000000a54239d6 100 0 0 10 0\n",
    "   1: 00000000000000000000000001000000:89E8 00000000000000000000000001000000:D05D 01 00000000:00000000 00:00000000 00000000     0        0 71828 1 000000001e71239b 20 0 0 10 -1\n",
    "   2: 00000000000000000000000001000000:D05D 00000000000000000000000001000000:89E8 01 00000000:00000000 00:00000000 00000000     0        0 71829 1 00000000ba4ea1d6 20 0 0 10 -1\n",
);

const UDP6: &str = concat!(
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n",
    "11108: 00000000000000000000000001000000:E4B6 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 71830 2 000000008044f218 0\n",
);

#[test]
fn finds_the_listener_not_the_connections() {
    let found = parse(TCP, Proto::Tcp, Scope::Listening, 54461).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].local.to_string(), "127.0.0.1:54461");
    assert_eq!(found[0].inode, 71824);
    assert_eq!(found[0].state, crate::socket::TCP_LISTEN);
}

#[test]
fn all_states_adds_the_accepted_connection_never_the_client() {
    let found = parse(TCP, Proto::Tcp, Scope::AllStates, 54461).unwrap();
    let inodes: Vec<u64> = found.iter().map(|s| s.inode).collect();
    // 71826 is the client: its local port is 55100, the remote one is ours.
    assert_eq!(inodes, [71824, 71827]);
    assert_eq!(found[1].remote.to_string(), "127.0.0.1:55100");
}

#[test]
fn reads_ipv6_words_in_host_order() {
    let found = parse(TCP6, Proto::Tcp, Scope::AllStates, 53341).unwrap();
    assert_eq!(found[0].local.to_string(), "[::]:53341");
    assert_eq!(found[1].local.to_string(), "[::1]:53341");
    assert_eq!(found[1].remote.port(), 35304);
    let udp = parse(UDP6, Proto::Udp, Scope::Listening, 58550).unwrap();
    assert_eq!(udp.len(), 1);
    assert_eq!(
        (udp[0].local.to_string(), udp[0].inode),
        ("[::1]:58550".into(), 71830)
    );
}

#[test]
fn a_damaged_line_is_an_error_naming_it() {
    let text = format!("{TCP}   9: 0100007F:ZZZZ garbage\n");
    let err = parse(&text, Proto::Tcp, Scope::Listening, 1).unwrap_err();
    assert!(err.starts_with("line 5:"), "{err}");
}

#[test]
fn read_takes_a_proc_root_and_skips_missing_files() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("net")).unwrap();
    std::fs::write(root.path().join("net/tcp"), TCP).unwrap();
    let found = read(
        root.path(),
        Proto::Tcp,
        (true, true),
        Scope::Listening,
        54461,
    )
    .unwrap();
    assert_eq!(
        found.len(),
        1,
        "tcp6 is missing, as in a kernel without IPv6"
    );
}
