# shellcheck shell=bash disable=SC2154  # the variables are set by scripts/install
# The steps of scripts/install, sourced by it (it sets repo, prefix, root,
# dry, purge, sched, enable, build, bin_dir and the target paths).
#
# The manifest holds one "KIND PATH" a line: f a file put, d a directory
# created, s a state directory created (kept by --uninstall unless --purge
# or empty), u the user created, t a timer enabled.

changes=0 checked=0 units_changed=0
entries=()
declare -A seen_dir=() made_dir=() old_kind=()
work=$(mktemp -d)
trap 'on_exit $?' EXIT

# An install that fails halfway still lists what it put (with what the
# last good install put), so --uninstall can remove it.
manifest_written=0
on_exit() {
    if [ "$1" -ne 0 ] && [ "$dry" -eq 0 ] && [ "$uninstall" -eq 0 ] &&
        [ $manifest_written -eq 0 ] && [ ${#entries[@]} -gt 0 ]; then
        local path
        for path in "${!old_kind[@]}"; do record "${old_kind[$path]}" "$path"; done
        write_manifest >/dev/null
        say "failed: what was put so far is listed in $manifest (--uninstall removes it)" >&2
    fi
    rm -rf "$work"
}

at() { printf '%s%s' "$root" "$1"; }
say() { printf '%s\n' "$*"; }
record() { entries+=("$1 $2"); }
was() { [ "${old_kind[$2]:-}" = "$1" ]; }

# A change to the host: always printed, done unless --dry-run.
change() {
    local what=$1
    shift
    changes=$((changes + 1))
    if [ "$dry" -eq 1 ]; then say "would $what"; else say "$what"; "$@"; fi
}

# A follow-up that is not itself a change (daemon-reload after new units).
follow_up() {
    if [ "$dry" -eq 1 ]; then say "would run: $*"; else say "run: $*"; "$@"; fi
}

ensure_dir() {
    local dir=$1
    [ "$dir" = / ] || [ -n "${seen_dir[$dir]:-}" ] && return 0
    seen_dir[$dir]=1
    ensure_dir "$(dirname "$dir")"
    if [ ! -d "$(at "$dir")" ]; then
        change "mkdir $dir" mkdir -m 755 "$(at "$dir")"
        made_dir[$dir]=1
    fi
    if [ -n "${made_dir[$dir]:-}" ] || was d "$dir"; then record d "$dir"; fi
}

replace_file() {
    install -m "$3" "$1" "$2.selfheal-new" && mv -f "$2.selfheal-new" "$2"
}

# Puts SRC at DEST with MODE unless the same bytes and mode are there.
put_file() {
    local src=$1 dest=$2 mode=$3 target
    target=$(at "$dest")
    ensure_dir "$(dirname "$dest")"
    checked=$((checked + 1))
    record f "$dest"
    if [ -f "$target" ] && cmp -s "$src" "$target" && [ "$(stat -c %a "$target")" = "$mode" ]; then
        return 0
    fi
    change "install $dest" replace_file "$src" "$target" "$mode"
}

# The helper scripts units and cron jobs run beside the tools: every
# executable in contrib/bin and contrib/no-systemd.
contrib_executables() {
    local f
    for f in "$repo"/contrib/bin/* "$repo"/contrib/no-systemd/*; do
        [ -f "$f" ] && [ -x "$f" ] && printf '%s\n' "$f"
    done
    return 0
}

# contrib/ names our executables as /usr/local/bin/NAME, the scripts take
# ${SELFHEAL_BIN:-/usr/local/bin} and cron a PATH=/usr/local/bin:...; all
# three name this install's bin. Other /usr/local/bin programs (ollama) stay.
write_rewrite_rules() {
    local name f
    : >"$work/rewrite.sed"
    for name in "${tools[@]}" $(contrib_executables | sed 's|.*/||'); do
        f=${name//./\\.}
        printf 's#/usr/local/bin/%s([^A-Za-z0-9_.@-]|$)#%s/%s\\1#g\n' "$f" "$bin" "$name" >>"$work/rewrite.sed"
    done
    printf 's#SELFHEAL_BIN:-/usr/local/bin}#SELFHEAL_BIN:-%s}#g\n' "$bin" >>"$work/rewrite.sed"
    [ "$bin" = /usr/local/bin ] || printf 's#^PATH=#PATH=%s:#\n' "$bin" >>"$work/rewrite.sed"
}

# A copy of a contrib file, rewritten to name this install's bin.
rewritten() {
    local copy=$work/rewritten$1
    mkdir -p "$(dirname "$copy")"
    sed -E -f "$work/rewrite.sed" "$1" >"$copy"
    printf '%s' "$copy"
}

# The last install's manifest, and the directories a plain --uninstall kept
# for their state (so this install owns them again).
load_old_manifest() {
    local kind path list
    for list in "$manifest" "$kept_dirs"; do
        [ -f "$(at "$list")" ] || continue
        while read -r kind path; do
            old_kind[$path]=$kind
        done <"$(at "$list")"
    done
}

build_binaries() {
    mapfile -t tools < <(installed_tools "$repo")
    [ ${#tools[@]} -gt 0 ] || die "no crate in $repo/crates says installed = true"
    local packages=() t
    for t in "${tools[@]}" selfheal-docgen; do packages+=(-p "$t"); done
    if [ "$build" -eq 1 ] && [ "$dry" -eq 1 ]; then
        say "would run: cargo build --release --locked ${packages[*]}"
    elif [ "$build" -eq 1 ]; then
        command -v cargo >/dev/null ||
            die "cargo is not on this user's PATH (sudo resets it): build as yourself" \
                "(cargo build --release) and run: sudo scripts/install --no-build"
        say "run: cargo build --release --locked (the first build takes minutes)"
        (cd "$repo" && cargo build --release --locked --quiet "${packages[@]}") ||
            die "the release build failed (see above); fix it or pass --bin-dir with built binaries"
    fi
    [ "$dry" -eq 1 ] && return 0
    for t in "${tools[@]}" selfheal-docgen; do
        [ -x "$bin_dir/$t" ] ||
            die "$bin_dir/$t is missing: build it (cargo build --release -p $t) or drop --no-build"
    done
}

install_binaries() {
    local t
    for t in "${tools[@]}"; do put_file "$bin_dir/$t" "$bin/$t" 755; done
    while read -r t; do
        put_file "$(rewritten "$t")" "$bin/${t##*/}" 755
    done < <(contrib_executables)
    install_notifiers
}

# The notifier examples hold no secret (they read it from a file at run
# time), so they go where --on-exhausted can name them.
install_notifiers() {
    local f mode
    for f in "$repo"/contrib/notify/*; do
        [ -f "$f" ] || continue
        mode=644
        [ -x "$f" ] && mode=755
        put_file "$f" "$prefix/lib/selfheal/notify/${f##*/}" "$mode"
    done
}

install_docs() {
    local out=$work/docs f
    if [ ! -x "$bin_dir/selfheal-docgen" ]; then
        say "would install man pages and completions (selfheal-docgen is not built yet)"
        return 0
    fi
    "$bin_dir/selfheal-docgen" "$out" || die "selfheal-docgen could not write the man pages"
    for f in "$out"/man1/*; do put_file "$f" "$share/man/man1/${f##*/}" 644; done
    for f in "$out"/bash/*; do put_file "$f" "$share/bash-completion/completions/${f##*/}" 644; done
    for f in "$out"/zsh/*; do put_file "$f" "$share/zsh/site-functions/${f##*/}" 644; done
    for f in "$out"/fish/*; do put_file "$f" "$share/fish/vendor_completions.d/${f##*/}" 644; done
}

# Every unit and drop-in directory in contrib/systemd, whatever they are named.
install_units() {
    local before=$changes src name f
    for src in "$repo"/contrib/systemd/*; do
        name=${src##*/}
        case $name in
            *.service | *.timer | *.slice | *.socket | *.path | *.target)
                [ -f "$src" ] && put_file "$(rewritten "$src")" "$units_dir/$name" 644 ;;
            *.d)
                for f in "$src"/*.conf; do
                    [ -f "$f" ] && put_file "$(rewritten "$f")" "$units_dir/$name/${f##*/}" 644
                done ;;
        esac
    done
    [ $changes -eq "$before" ] || units_changed=1
}

# cron ignores /etc/cron.d files whose names have a dot: selfheal-<name>.
install_cron() {
    local src name
    for src in "$repo"/contrib/cron/*; do
        [ -f "$src" ] || continue
        name=${src##*/}
        name=${name%%.*}
        case $name in selfheal | selfheal-*) ;; *) name=selfheal-$name ;; esac
        put_file "$(rewritten "$src")" "/etc/cron.d/$name" 644
    done
}

# sudo ignores /etc/sudoers.d files with a dot too; a broken file there
# would lock out every sudo user, so all are checked with visudo before
# anything at all is installed.
sudoers=()
check_sudoers() {
    local src copy
    for src in "$repo"/contrib/sudoers/*; do
        [ -f "$src" ] || continue
        if ! command -v visudo >/dev/null; then
            say "skipping contrib/sudoers: sudo is not installed here (no visudo to check the rules)"
            sudoers=()
            return 0
        fi
        copy=$(rewritten "$src")
        chmod 440 "$copy"
        visudo -cqf "$copy" >/dev/null ||
            die "contrib/sudoers/${src##*/} fails visudo -cf: nothing was installed"
        sudoers+=("$copy")
    done
    return 0
}

install_sudoers() {
    local copy name
    for copy in "${sudoers[@]}"; do
        name=${copy##*/}
        put_file "$copy" "/etc/sudoers.d/${name%%.*}" 440
    done
}

install_polkit() {
    local src
    for src in "$repo"/contrib/polkit/*.rules; do
        [ -f "$src" ] && put_file "$(rewritten "$src")" "/etc/polkit-1/rules.d/${src##*/}" 644
    done
    return 0
}

make_user() {
    if [ -n "$root" ]; then
        say "staging root: not creating the system user $user (run scripts/install on the host itself)"
        return 0
    fi
    if getent passwd "$user" >/dev/null; then
        if ours_user; then record u "$user"; fi
        return 0
    fi
    # userdel may leave the group behind (it does without /etc/login.defs).
    local group=(--user-group)
    getent group "$user" >/dev/null && group=(--gid "$user")
    change "create the system user $user" useradd --system "${group[@]}" --home-dir "$state_dir" \
        --no-create-home --shell /usr/sbin/nologin --comment "$user_comment" "$user"
    record u "$user"
}

# The user this script created (by its comment, so --purge finds it even
# after a plain --uninstall removed the manifest).
user_comment="selfheal health checks"
ours_user() {
    [ "$(getent passwd "$user" | cut -d: -f5)" = "$user_comment" ]
}

make_owned_dir() {
    mkdir -m "$2" "$(at "$1")"
    [ -n "$root" ] || chown "$3" "$(at "$1")"
}

state_dir_at() {
    local dir=$1 mode=$2 owner=$3
    ensure_dir "$(dirname "$dir")"
    if [ ! -d "$(at "$dir")" ]; then
        local shown=", owner $owner"
        [ -z "$root" ] || shown=''
        change "mkdir $dir (mode $mode$shown)" make_owned_dir "$dir" "$mode" "$owner"
        made_dir[$dir]=1
    fi
    if [ -n "${made_dir[$dir]:-}" ] || was s "$dir"; then record s "$dir"; fi
}

# The state directory as systemd makes it for StateDirectory=selfheal of a
# root unit (units running as selfheal get subdirectories of their own);
# the textfile directory writable by root units without CAP_DAC_OVERRIDE
# (CapabilityBoundingSet=) as owner and by User=selfheal units as group.
make_state_dirs() {
    state_dir_at "$state_dir" 755 root:root
    state_dir_at "$textfile_dir" 775 "root:$user"
}

shipped_timers() {
    local f
    for f in "$repo"/contrib/systemd/*.timer; do
        [ -f "$f" ] && printf '%s\n' "${f##*/}"
    done
    return 0
}

enable_timers() {
    local timer
    if [ -n "$root" ]; then
        say "staging root: timers installed, not enabled (run scripts/install on the host itself)"
        return 0
    fi
    if [ "$systemd_runs" -eq 0 ]; then
        say "systemd is not running here (no /run/systemd/system):" \
            "units installed, timers NOT enabled; use --cron on this host"
        return 0
    fi
    [ $units_changed -eq 0 ] || follow_up systemctl daemon-reload
    [ "$enable" -eq 1 ] || { say "--no-enable: timers installed, not enabled"; return 0; }
    while read -r timer; do
        case $timer in *@*)
            say "template $timer: enable one per instance, e.g. systemctl enable --now ${timer/@/@NAME}"
            continue ;;
        esac
        systemctl is-enabled -q "$timer" 2>/dev/null || change "enable $timer" systemctl enable -q "$timer"
        systemctl is-active -q "$timer" || change "start $timer" systemctl start "$timer"
        record t "$timer"
    done < <(shipped_timers)
}

# What an earlier install put that this tree no longer ships.
remove_stale() {
    local path
    declare -A now=()
    for path in "${entries[@]}"; do now[$path]=1; done
    for path in "${!old_kind[@]}"; do
        [ -z "${now["${old_kind[$path]} $path"]:-}" ] || continue
        case ${old_kind[$path]} in
            f) [ "$path" = "$manifest" ] || change "remove $path (no longer shipped)" rm -f "$(at "$path")" ;;
            t) [ "$systemd_runs" -eq 0 ] || change "disable $path (no longer shipped)" systemctl disable --now -q "$path" ;;
        esac
    done
    # Directories of ours nothing goes in any more: gone when empty, else
    # still listed so --uninstall can take them later.
    while read -r path; do
        if [ -z "$path" ] || [ ! -d "$(at "$path")" ]; then continue; fi
        if [ -z "$(ls -A "$(at "$path")")" ]; then
            change "remove $path (no longer used)" rmdir "$(at "$path")"
        else
            record d "$path"
        fi
    done < <(for path in "${!old_kind[@]}"; do
        [ "${old_kind[$path]}" = d ] && [ -z "${now["d $path"]:-}" ] && printf '%s\n' "$path"
    done | sort -r)
    return 0
}

write_manifest() {
    ensure_dir "$(dirname "$manifest")"
    record f "$manifest"
    manifest_written=1
    printf '%s\n' "${entries[@]}" | sort -u >"$work/manifest"
    if ! cmp -s "$work/manifest" "$(at "$manifest")"; then
        change "write $manifest" replace_file "$work/manifest" "$(at "$manifest")" 644
    fi
    if [ -f "$(at "$kept_dirs")" ]; then
        change "remove $kept_dirs (the manifest lists those directories)" rm -f "$(at "$kept_dirs")"
    fi
}

summary() {
    if [ "$dry" -eq 1 ]; then
        say "dry run: $changes change(s) would be made; nothing was changed"
    elif [ $changes -eq 0 ]; then
        say "nothing changed: selfheal is installed and up to date ($checked files checked)"
    else
        say "$changes change(s) made"
    fi
}

# Installed and running, not only copied: every tool runs, every timer has a
# next elapse, or a cron daemon runs to read /etc/cron.d.
check_installed() {
    local t line failed=0
    [ "$dry" -eq 0 ] && [ -z "$root" ] || return 0
    for t in "${tools[@]}"; do
        "$bin/$t" --version >/dev/null || { say "FAILED: $bin/$t --version"; failed=1; }
    done
    # The Ollama healer reads the check's JSON report with jq.
    command -v jq >/dev/null ||
        say "note: jq is not installed, and selfheal-ollama-heal needs it to act on a frozen" \
            "Ollama: apt-get install jq (or your system's package)"
    # Not ours to change when it was there before us: say what is needed.
    if ! setpriv --reuid="$user" --regid="$user" --init-groups test -w "$textfile_dir"; then
        say "note: the user $user cannot write $textfile_dir (it was there before), so jobs run" \
            "as $user (User=$user) cannot write metrics there: chgrp $user $textfile_dir &&" \
            "chmod g+w $textfile_dir"
    fi
    if [ "$sched" = timers ] && [ "$systemd_runs" -eq 1 ] && [ "$enable" -eq 1 ]; then
        while read -r t; do
            case $t in *@*) continue ;; esac
            line=$(systemctl list-timers --all --no-legend --no-pager "$t")
            case ${line%% *} in
                '' | - | n/a) say "NOT SCHEDULED: $t ($(systemctl is-active "$t" || true))"; failed=1 ;;
                *) say "scheduled: $line" ;;
            esac
        done < <(shipped_timers)
    elif [ "$sched" = cron ]; then
        if pidof cron crond >/dev/null; then
            say "scheduled: cron runs (pid $(pidof cron crond)) and reads /etc/cron.d"
        else
            say "NOT SCHEDULED: no cron daemon runs here; start it (e.g. service cron start)"
            failed=1
        fi
    fi
    return $failed
}
