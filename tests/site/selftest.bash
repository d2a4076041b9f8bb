# mailsite selftest — sourced by ./mailsite; uses standard clients only
# (swaks, curl, ldapsearch/ldapwhoami), never healthmon's own code.
#
# 1. LDAP answers: each account's entry has the right mailHost, and its
#    password binds.
# 2. A message is submitted for each account through each MTA on 25
#    (STARTTLS, no AUTH), 587 (STARTTLS + AUTH as the account) and 465
#    (implicit TLS + AUTH), and through lb:25.
# 3. Each message arrives in the account's Maildir on its own store (and not
#    on the other one).
# 4. Through each MMP (IMAP 143 STARTTLS and 993, POP3 110 STLS and 995) and
#    through lb (IMAP 143, POP3 110, STARTTLS), every one of the run's
#    messages is listed and readable.  TLS is verified against the site CA
#    (variant b: against certs/all.pem, the hosts' self-signed certificates).
# 5. The run's messages are deleted (IMAP through mmp1) and gone from disk.
#
# Prints PASS/FAIL per check and "selftest: N passed, M failed"; exits 1 on
# any failure.

ST_PASS=0
ST_FAIL=0
st_ok() { ST_PASS=$((ST_PASS + 1)); printf 'PASS  %s\n' "$1"; }
st_bad() { ST_FAIL=$((ST_FAIL + 1)); printf 'FAIL  %s%s\n' "$1" "${2:+: $2}"; }

# curl with the account's credentials passed on stdin (not on the command line).
st_curl() {   # USER URL [CURL ARGS...]
  local user=$1 url=$2; shift 2
  local pw; pw=$(secret_of "$user")
  pw=${pw//\\/\\\\}; pw=${pw//\"/\\\"}
  printf 'user = "%s:%s"\n' "$user" "$pw" |
    curl -sS --max-time 20 --cacert "$CA" -K - "$@" "$url"
}
# URL for a front end: kind (imap/pop3), host, port.  STARTTLS on 143/110.
st_url() {   # PROTO IP PORT
  case $3 in
    993) echo "imaps://$2:993" ;; 995) echo "pop3s://$2:995" ;;
    *) echo "$1://$2:$3" ;;
  esac
}

st_ldap() {
  local u out
  for u in "${ACCOUNTS[@]}"; do
    out=$(ldapsearch -x -LLL -o nettimeout=5 -H "ldap://${IP[ldap1]}:389" -b "$PEOPLE" "(uid=$u)" mail mailHost 2>&1) || true
    if grep -qx "mailHost: ${IP[${ACCOUNT_STORE[$u]}]}" <<<"$out" && grep -qx "mail: $u@$DOMAIN" <<<"$out"; then
      st_ok "ldap1 search uid=$u: mail=$u@$DOMAIN mailHost=${IP[${ACCOUNT_STORE[$u]}]}"
    else
      st_bad "ldap1 search uid=$u" "$(tr '\n' ' ' <<<"$out")"
    fi
    if out=$(ldapwhoami -x -o nettimeout=5 -H "ldap://${IP[ldap1]}:389" -D "uid=$u,$PEOPLE" -y "$SECRETS/$u.pass" 2>&1); then
      st_ok "ldap1 bind as uid=$u"
    else
      st_bad "ldap1 bind as uid=$u" "$out"
    fi
  done
}

# Submit one message; remember it in ST_SENT as "account via".
st_submit() {   # VIA(host:port) ACCOUNT
  local via=$1 u=$2 h=${1%:*} port=${1#*:} args=()
  args=(--server "${IP[$h]}" --port "$port" --to "$u@$DOMAIN" --from "selftest@$DOMAIN"
    --ehlo "selftest.$DOMAIN" --timeout 20
    --header "Subject: mailsite selftest $ST_RUN via $via"
    --header "X-Mailsite-Selftest: $ST_RUN $via $u"
    --body "mailsite selftest $ST_RUN: submitted via $via for $u"
    --tls-verify --tls-ca-path "$CA")
  case $port in
    25) args+=(--tls) ;;
    587) args+=(--tls --auth PLAIN --auth-user "$u" --auth-password "$(secret_of "$u")") ;;
    465) args+=(--tlsc --auth PLAIN --auth-user "$u" --auth-password "$(secret_of "$u")") ;;
  esac
  local out
  if out=$(swaks "${args[@]}" 2>&1); then
    st_ok "submit via $via ($(st_port_desc "$port")) to $u@$DOMAIN"
    ST_SENT+=("$u $via")
  else
    st_bad "submit via $via to $u@$DOMAIN" "$(grep -E '^( ?<\*?~?|\*\*\*)' <<<"$out" | tail -3 | tr '\n' ' ')"
  fi
}
st_port_desc() {
  case $1 in 25) echo STARTTLS ;; 587) echo STARTTLS+AUTH ;; 465) echo TLS+AUTH ;; esac
}

maildir_has() {   # STORE ACCOUNT NEEDLE
  grep -rlsF -- "$3" "$STATE/$1/mail/$2/Maildir/new" "$STATE/$1/mail/$2/Maildir/cur" >/dev/null 2>&1
}
st_arrival() {
  local entry u via store other needle deadline=$((SECONDS + 30))
  for entry in "${ST_SENT[@]}"; do
    u=${entry% *}; via=${entry#* }; store=${ACCOUNT_STORE[$u]}
    [[ $store == store1 ]] && other=store2 || other=store1
    needle="X-Mailsite-Selftest: $ST_RUN $via $u"
    while ! maildir_has "$store" "$u" "$needle" && ((SECONDS < deadline)); do sleep 0.2; done
    if maildir_has "$store" "$u" "$needle"; then
      if grep -rlsF -- "$needle" "$STATE/$other/mail" >/dev/null; then
        st_bad "message via $via for $u" "also found on $other"
      else
        st_ok "message via $via for $u arrived on $store"
      fi
    else
      st_bad "message via $via for $u" "not on $store after 30 s (see $LOG/${via%:*}.log, $LOG/$store.log)"
    fi
  done
}
st_expected() {   # ACCOUNT -> number of the run's messages sent to it
  local e n=0
  for e in "${ST_SENT[@]}"; do [[ ${e% *} == "$1" ]] && n=$((n + 1)); done
  echo "$n"
}

st_imap() {   # FRONT PORT ACCOUNT
  local f=$1 port=$2 u=$3 url out uids n want last
  url=$(st_url imap "${IP[$f]}" "$port")
  want=$(st_expected "$u")
  out=$(st_curl "$u" "$url/INBOX" --ssl-reqd -X "UID SEARCH HEADER X-Mailsite-Selftest \"$ST_RUN\"" 2>&1) || {
    st_bad "IMAP $f:$port $u" "$(tr '\n' ' ' <<<"$out")"; return; }
  uids=$(sed -n 's/^\* SEARCH//p' <<<"$out" | tr -d '\r')
  n=$(wc -w <<<"$uids")
  if [[ $n != "$want" ]]; then st_bad "IMAP $f:$port $u" "found $n of $want messages"; return; fi
  for last in $uids; do
    out=$(st_curl "$u" "$url/INBOX;UID=$last" --ssl-reqd 2>&1) || { st_bad "IMAP $f:$port $u fetch UID $last" "$out"; return; }
    grep -qF "X-Mailsite-Selftest: $ST_RUN" <<<"$out" || { st_bad "IMAP $f:$port $u fetch UID $last" "wrong message"; return; }
  done
  st_ok "IMAP $f:$port ($( [[ $port == 993 ]] && echo TLS || echo STARTTLS)) $u: all $want messages listed and read"
}
st_pop3() {   # FRONT PORT ACCOUNT
  local f=$1 port=$2 u=$3 url out nums n=0 want m
  url=$(st_url pop3 "${IP[$f]}" "$port")
  want=$(st_expected "$u")
  out=$(st_curl "$u" "$url/" --ssl-reqd 2>&1) || { st_bad "POP3 $f:$port $u" "$(tr '\n' ' ' <<<"$out")"; return; }
  nums=$(awk '{print $1}' <<<"$out" | tr -d '\r')
  for m in $nums; do
    out=$(st_curl "$u" "$url/$m" --ssl-reqd 2>&1) || { st_bad "POP3 $f:$port $u RETR $m" "$out"; return; }
    grep -qF "X-Mailsite-Selftest: $ST_RUN" <<<"$out" && n=$((n + 1))
  done
  if [[ $n == "$want" ]]; then
    st_ok "POP3 $f:$port ($( [[ $port == 995 ]] && echo TLS || echo STLS)) $u: all $want messages read"
  else
    st_bad "POP3 $f:$port $u" "read $n of $want messages"
  fi
}

st_cleanup() {   # delete the run's messages through mmp1 (IMAP)
  local u url out uids set
  url="imaps://${IP[mmp1]}:993/INBOX"
  for u in "${ACCOUNTS[@]}"; do
    out=$(st_curl "$u" "$url" -X "UID SEARCH HEADER X-Mailsite-Selftest \"$ST_RUN\"" 2>&1) || { st_bad "delete $u's messages" "$out"; continue; }
    uids=$(sed -n 's/^\* SEARCH//p' <<<"$out" | tr -d '\r')
    set=$(xargs <<<"$uids" | tr ' ' ',')
    if [[ -n $set ]]; then
      if ! st_curl "$u" "$url" -X "UID STORE $set +FLAGS.SILENT (\\Deleted)" >/dev/null 2>&1 ||
        ! st_curl "$u" "$url" -X "UID EXPUNGE $set" >/dev/null 2>&1; then
        st_bad "delete $u's messages via mmp1" "STORE/EXPUNGE failed"; continue
      fi
    fi
    if maildir_has "${ACCOUNT_STORE[$u]}" "$u" "X-Mailsite-Selftest: $ST_RUN"; then
      st_bad "delete $u's messages via mmp1" "still on ${ACCOUNT_STORE[$u]}"
    else
      st_ok "deleted $u's selftest messages via mmp1 IMAP"
    fi
  done
}

cmd_selftest() {
  local h u f p down=""
  for h in "${HOSTS[@]}"; do host_running "$h" || down+=" $h"; done
  [[ -z $down ]] || die "hosts not running:$down (run: mailsite up)"
  if any_faults; then say "warning: faults active: $(cmd_faults | tr '\n' ' ')"; fi
  ST_RUN="st-$(date +%Y%m%d%H%M%S)-$$"
  ST_SENT=()
  say "selftest run $ST_RUN"

  st_ldap
  for h in mta1 mta2; do
    for u in "${ACCOUNTS[@]}"; do
      for p in 25 587 465; do st_submit "$h:$p" "$u"; done
    done
  done
  for u in "${ACCOUNTS[@]}"; do st_submit "lb:25" "$u"; done
  st_arrival
  for f in mmp1 mmp2 lb; do
    for u in "${ACCOUNTS[@]}"; do
      if [[ $f == lb ]]; then
        st_imap "$f" 143 "$u"; st_pop3 "$f" 110 "$u"
      else
        for p in 143 993; do st_imap "$f" "$p" "$u"; done
        for p in 110 995; do st_pop3 "$f" "$p" "$u"; done
      fi
    done
  done
  st_cleanup
  [[ $VARIANT == b ]] && st_internet

  echo "selftest: $ST_PASS passed, $ST_FAIL failed"
  ((ST_FAIL == 0))
}

# ---------------------------------------------------------------- faulttest
# mailsite faulttest — inject each fault, observe it with standard clients,
# repair it, observe the repair.  About a minute.  Leaves no fault behind.
ft_send() {   # HOST:PORT ACCOUNT TAG -> swaks exit code; 587 uses AUTH
  local h=${1%:*} port=${1#*:} args=()
  args=(--server "${IP[$h]}" --port "$port" --to "$2@$DOMAIN" --from "faulttest@$DOMAIN"
    --ehlo "faulttest.$DOMAIN" --timeout 10 --header "X-Mailsite-Faulttest: $ST_RUN $3"
    --tls --tls-verify --tls-ca-path "$CA")
  [[ $port == 587 ]] && args+=(--auth PLAIN --auth-user "$2" --auth-password "$(secret_of "$2")")
  swaks "${args[@]}" >/dev/null 2>&1
}
ft_arrived() {   # ACCOUNT TAG [TIMEOUT]: wait for the tagged message on the account's store
  local deadline=$((SECONDS + ${3:-15}))
  while ((SECONDS < deadline)); do
    maildir_has "${ACCOUNT_STORE[$1]}" "$1" "X-Mailsite-Faulttest: $ST_RUN $2" && return 0
    sleep 0.2
  done
  return 1
}
ft_queue() {   # MTA QUEUE -> count
  cmd_queue "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}
ft_wait_queue() {   # MTA QUEUE MIN [TIMEOUT]: until count >= MIN
  local deadline=$((SECONDS + ${4:-10}))
  while ((SECONDS < deadline)); do (($(ft_queue "$1" "$2") >= $3)) && return 0; sleep 0.2; done
  return 1
}
ft_login() {   # FRONT PORT ACCOUNT: IMAP login + STATUS through a front end
  st_curl "$3" "$(st_url imap "${IP[$1]}" "$2")/INBOX" --ssl-reqd --max-time 4 -X 'STATUS INBOX (MESSAGES)' >/dev/null 2>&1
}
ft_check() {   # DESCRIPTION CMD...
  local d=$1; shift
  if "$@"; then st_ok "$d"; else st_bad "$d"; fi
}
ft_not() { ! "$@"; }
ft_tcp() { timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

cmd_faulttest() {
  local h down=""
  for h in "${HOSTS[@]}"; do host_running "$h" || down+=" $h"; done
  [[ -z $down ]] || die "hosts not running:$down (run: mailsite up)"
  if any_faults; then die "faults active; run: mailsite repair all"; fi
  ST_RUN="ft-$(date +%Y%m%d%H%M%S)-$$"
  say "faulttest run $ST_RUN"

  cmd_fault smtp-refuse mta1 >/dev/null
  ft_check "smtp-refuse mta1: ${IP[mta1]}:25 refuses" ft_not ft_tcp "${IP[mta1]}" 25
  ft_check "smtp-refuse mta1: 587 still accepts mail" ft_send mta1:587 ims1 refuse-587
  sleep 1.5   # lb health check (inter 1s, fall 1)
  ft_check "smtp-refuse mta1: lb:25 still accepts mail (via mta2)" ft_send lb:25 ims2 refuse-lb
  cmd_repair smtp-refuse mta1 >/dev/null
  ft_check "repair smtp-refuse mta1: 25 accepts mail" ft_send mta1:25 ims1 refuse-repaired
  ft_check "repair smtp-refuse mta1: messages delivered" ft_arrived ims1 refuse-repaired

  cmd_fault hold mta1 >/dev/null
  ft_send mta1:25 ims3 hold || true
  ft_check "hold mta1: new mail goes to hold" ft_wait_queue mta1 hold 1
  ft_check "hold mta1: not delivered" ft_not ft_arrived ims3 hold 2
  cmd_repair hold mta1 >/dev/null
  ft_check "repair hold mta1: held mail delivered" ft_arrived ims3 hold
  ft_check "repair hold mta1: hold queue empty" test "$(ft_queue mta1 hold)" = 0

  cmd_fault defer mta2 >/dev/null
  ft_send mta2:587 ims2 defer || true
  ft_check "defer mta2: mail piles up in deferred" ft_wait_queue mta2 deferred 1
  cmd_repair defer mta2 >/dev/null
  ft_check "repair defer mta2: deferred mail delivered" ft_arrived ims2 defer
  ft_check "repair defer mta2: deferred queue empty" test "$(ft_queue mta2 deferred)" = 0

  cmd_fault lmtp-down store2 >/dev/null
  ft_check "lmtp-down store2: ${IP[store2]}:24 refuses" ft_not ft_tcp "${IP[store2]}" 24
  ft_check "lmtp-down store2: IMAP on store2 still works" ft_login store2 993 ims4
  ft_send mta1:25 ims4 lmtp || true
  ft_check "lmtp-down store2: mail for ims4 deferred on mta1" ft_wait_queue mta1 deferred 1
  cmd_repair lmtp-down store2 >/dev/null
  ft_check "repair lmtp-down store2: deferred mail delivered" ft_arrived ims4 lmtp

  cmd_fault hang mmp2 >/dev/null
  ft_check "hang mmp2: IMAP login through mmp2 times out" ft_not ft_login mmp2 993 ims1
  ft_check "hang mmp2: mmp1 still works" ft_login mmp1 993 ims1
  cmd_repair hang mmp2 >/dev/null
  ft_check "repair hang mmp2: IMAP login through mmp2 works" ft_login mmp2 993 ims1

  cmd_fault badpass ims4 >/dev/null
  ft_check "badpass ims4: login through mmp1 fails" ft_not ft_login mmp1 993 ims4
  ft_check "badpass ims4: ims3 on the same store still logs in" ft_login mmp1 993 ims3
  cmd_repair badpass ims4 >/dev/null
  ft_check "repair badpass ims4: login through mmp1 works" ft_login mmp1 993 ims4

  # A message already queued on mta2 (held) meets the LDAP outage when released.
  cmd_fault hold mta2 >/dev/null
  ft_send mta2:25 ims3 ldap-queued || true
  cmd_stop ldap1 >/dev/null
  cmd_repair hold mta2 >/dev/null
  ft_check "stop ldap1: mta1 does not accept mail (RCPT lookup fails)" ft_not ft_send mta1:25 ims1 ldap
  if [[ $VARIANT == b ]]; then
    # perdition routes by its own popmap and the stores check passwords
    # themselves: reading mail does not need LDAP on variant b.
    ft_check "stop ldap1: login through mmp1 still works (perdition's popmap)" ft_login mmp1 993 ims1
  else
    ft_check "stop ldap1: login through mmp1 fails" ft_not ft_login mmp1 993 ims1
  fi
  ft_check "stop ldap1: queued mail on mta2 is deferred" ft_wait_queue mta2 deferred 1
  cmd_start ldap1 >/dev/null
  ft_check "start ldap1: mta1 accepts mail" ft_send mta1:25 ims1 ldap
  ft_check "start ldap1: login through mmp1 works" ft_login mmp1 993 ims1
  ft_check "start ldap1: deferred mail on mta2 delivered" ft_arrived ims3 ldap-queued

  [[ $VARIANT == b ]] && ft_internet

  # Remove the run's messages directly from the Maildirs (Dovecot copes).
  grep -rlsF -- "X-Mailsite-Faulttest: $ST_RUN" "$STATE"/store?/mail/*/Maildir/{new,cur} | xargs -r rm -f
  echo "faulttest: $ST_PASS passed, $ST_FAIL failed"
  ((ST_FAIL == 0))
}
