# Variant b's "Internet" in selftest and faulttest — sourced by ./mailsite;
# standard clients only (swaks, curl).  Messages carry their own header
# (X-Mailsite-Internet), so the site's selftest counts are untouched, and
# are removed from the Maildirs at the end.

in_send() {   # VIA(host:port, 587) TO TAG: a customer (ims1) submits with AUTH
  local h=${1%:*} port=${1#*:}
  swaks --server "${IP[$h]}" --port "$port" --to "$2" --from "ims1@$DOMAIN" \
    --ehlo "selftest.$DOMAIN" --timeout 20 --tls --tls-verify --tls-ca-path "$CA" \
    --auth PLAIN --auth-user ims1 --auth-password "$(secret_of ims1)" \
    --header "Subject: mailsite internet $ST_RUN $3" \
    --header "X-Mailsite-Internet: $ST_RUN $3" >/dev/null 2>&1
}
in_file() {   # STORE ACCOUNT TAG -> the message's file, if there
  grep -rlsF -- "X-Mailsite-Internet: $ST_RUN $3" "$STATE/$1/mail/$2/Maildir/new" "$STATE/$1/mail/$2/Maildir/cur" | head -1
}
in_arrived() {   # STORE ACCOUNT TAG [TIMEOUT]
  local deadline=$((SECONDS + ${4:-15}))
  while ((SECONDS < deadline)); do [[ -n $(in_file "$1" "$2" "$3") ]] && return 0; sleep 0.2; done
  return 1
}
in_signed() {   # STORE ACCOUNT TAG: the site's DKIM signature is there (header unfolded)
  local f; f=$(in_file "$1" "$2" "$3"); [[ -n $f ]] || return 1
  sed -n '/^DKIM-Signature:/,/^[^ \t]/p' "$f" | tr -d ' \t\r\n' | grep -qF "d=$DOMAIN;s=$DKIM_SELECTOR;"
}
in_imap_ext1() {   # TAG: the message is readable over IMAP on rstore
  st_curl ext1 "imap://${IP[rstore]}:143/INBOX" --ssl-reqd -X "UID SEARCH HEADER X-Mailsite-Internet \"$ST_RUN $1\"" 2>/dev/null |
    grep -qE '^\* SEARCH [0-9]'
}
in_cleanup() {
  grep -rlsF -- "X-Mailsite-Internet: $ST_RUN" "$STATE"/{store?,rstore}/mail/*/Maildir/{new,cur} | xargs -r rm -f
}

st_internet() {   # selftest: out through each MTA and lb, signed; the reflector
  local via
  for via in mta1:587 mta2:587 lb:587; do
    ft_check "internet: ims1 via $via to ext1@$REMOTE_DOMAIN accepted" in_send "$via" "ext1@$REMOTE_DOMAIN" "out-$via"
    ft_check "internet: via $via arrived on rstore" in_arrived rstore ext1 "out-$via"
    ft_check "internet: via $via carries the site's DKIM signature" in_signed rstore ext1 "out-$via"
  done
  ft_check "internet: ext1's messages readable over IMAP (STARTTLS) on rstore" in_imap_ext1 "out-mta1:587"
  ft_check "internet: via lb:587 to the reflector $REFLECTOR" in_send lb:587 "$REFLECTOR" echo
  ft_check "internet: reflected back to $REFLECT_TO on store1" in_arrived store1 ims2 echo
  in_cleanup
}

ft_internet() {   # faulttest: the four outbound faults and their repairs
  cmd_fault out-hold mta1 >/dev/null
  in_send mta1:587 "ext1@$REMOTE_DOMAIN" out-hold || true
  ft_check "out-hold mta1: mail for $REMOTE_DOMAIN goes to hold" ft_wait_queue mta1 hold 1
  ft_check "out-hold mta1: mail inside the site still delivered" ft_send mta1:25 ims1 out-hold-inside
  ft_check "out-hold mta1: ... and arrives" ft_arrived ims1 out-hold-inside
  cmd_repair out-hold mta1 >/dev/null
  ft_check "repair out-hold mta1: held mail reaches ext1" in_arrived rstore ext1 out-hold

  cmd_fault remote-down rmx >/dev/null
  ft_check "remote-down rmx: ${IP[rmx]}:25 refuses" ft_not ft_tcp "${IP[rmx]}" 25
  in_send mta2:587 "ext1@$REMOTE_DOMAIN" remote-down || true
  ft_check "remote-down rmx: mail deferred on mta2" ft_wait_queue mta2 deferred 1
  cmd_repair remote-down rmx >/dev/null
  ft_check "repair remote-down rmx: deferred mail reaches ext1" in_arrived rstore ext1 remote-down

  cmd_fault remote-refuse rmx >/dev/null
  in_send mta1:587 "ext1@$REMOTE_DOMAIN" refuse || true
  ft_check "remote-refuse rmx: not delivered" ft_not in_arrived rstore ext1 refuse 3
  ft_check "remote-refuse rmx: mta1 logged the 550 bounce" grep -qF "said: 550 5.7.1" "$LOG/mta1.log"
  cmd_repair remote-refuse rmx >/dev/null
  ft_check "repair remote-refuse rmx: mail reaches ext1" in_send mta1:587 "ext1@$REMOTE_DOMAIN" refuse-repaired
  ft_check "repair remote-refuse rmx: ... arrived" in_arrived rstore ext1 refuse-repaired

  cmd_fault sign-off mta2 >/dev/null
  in_send mta2:587 "ext1@$REMOTE_DOMAIN" sign-off || true
  ft_check "sign-off mta2: mail still delivered" in_arrived rstore ext1 sign-off
  ft_check "sign-off mta2: ... without the site's signature" ft_not in_signed rstore ext1 sign-off
  cmd_repair sign-off mta2 >/dev/null
  in_send mta2:587 "ext1@$REMOTE_DOMAIN" signed-again || true
  ft_check "repair sign-off mta2: delivered" in_arrived rstore ext1 signed-again
  ft_check "repair sign-off mta2: signed again" in_signed rstore ext1 signed-again
  in_cleanup
}
