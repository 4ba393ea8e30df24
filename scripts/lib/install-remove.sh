# shellcheck shell=bash disable=SC2154  # the variables are set by scripts/install
# scripts/install --uninstall [--purge], sourced by it after install-steps.sh:
# removes what the manifest lists, deepest directories last, and with
# --purge the state directory and the user install created.

uninstall_all() {
    local kind path dirs=() files=() timers=()
    if [ ! -f "$(at "$manifest")" ]; then
        say "nothing to uninstall: no manifest at $(at "$manifest")"
        [ "$purge" -eq 0 ] || purge_state
        return 0
    fi
    while read -r kind path; do
        case $kind in
            f) files+=("$path") ;;
            d | s) dirs+=("$kind $path") ;;
            t) timers+=("$path") ;;
        esac
    done <"$(at "$manifest")"
    if [ -z "$root" ] && [ "$systemd_runs" -eq 1 ]; then
        for path in "${timers[@]}"; do change "disable $path" systemctl disable --now -q "$path"; done
    fi
    for path in "${files[@]}"; do
        [ -e "$(at "$path")" ] && change "remove $path" rm -f "$(at "$path")"
        case $path in "$units_dir"/*) units_changed=1 ;; esac
    done
    if [ -z "$root" ] && [ "$systemd_runs" -eq 1 ] && [ "$units_changed" -eq 1 ]; then
        follow_up systemctl daemon-reload
    fi
    [ "$purge" -eq 0 ] || purge_state
    remove_dirs "${dirs[@]}"
    [ "$purge" -eq 1 ] || [ "$dry" -eq 1 ] || keep_record "${dirs[@]}"
    summary
}

# The directories of ours that stay because they hold state, listed in
# the state directory: without it a reinstall would take them for the
# host's own, and --purge (the manifest gone) would leave them behind,
# owned by a group it deletes.
keep_record() {
    local entry kept=()
    for entry in "$@"; do
        [ -d "$(at "${entry#? }")" ] && kept+=("$entry")
    done
    [ ${#kept[@]} -gt 0 ] || return 0
    [ -d "$(at "$state_dir")" ] || kept+=("s $state_dir")
    change "list the directories kept in $kept_dirs" write_kept "${kept[@]}"
}

write_kept() {
    mkdir -p "$(at "$state_dir")"
    printf '%s\n' "$@" >"$(at "$kept_dirs")"
}

purge_state() {
    local file kept=()
    [ ! -f "$(at "$kept_dirs")" ] || mapfile -t kept <"$(at "$kept_dirs")"
    if [ -d "$(at "$state_dir")" ]; then
        change "remove $state_dir and the state in it" rm -rf "$(at "$state_dir")"
    fi
    # Metrics our tools wrote (every family is selfheal_*), not other exporters'.
    for file in "$(at "$textfile_dir")"/*.prom; do
        [ -f "$file" ] && grep -q '^# HELP selfheal_' "$file" &&
            change "remove $textfile_dir/${file##*/} (selfheal metrics)" rm -f "$file"
    done
    if [ -z "$root" ] && getent passwd "$user" >/dev/null && ours_user; then
        change "remove the system user $user" userdel "$user"
        if getent group "$user" >/dev/null && [ -z "$(getent group "$user" | cut -d: -f4)" ]; then
            change "remove the group $user" groupdel "$user"
        fi
    fi
    [ ${#kept[@]} -eq 0 ] || remove_dirs "${kept[@]}"
    return 0
}

# Deepest first; a directory that still holds something (state, or files
# not ours) stays and is named.
remove_dirs() {
    local entry dir
    while read -r entry; do
        [ -n "$entry" ] || continue
        dir=${entry#? }
        [ -d "$(at "$dir")" ] || continue
        if [ -z "$(ls -A "$(at "$dir")")" ] || [ "$dry" -eq 1 ]; then
            change "remove $dir" rmdir "$(at "$dir")"
        elif [ "${entry%% *}" = s ]; then
            say "kept $dir: it holds state (--purge removes it)"
        else
            say "kept $dir: not empty"
        fi
    done < <(printf '%s\n' "$@" | sort -k2 -r)
}
