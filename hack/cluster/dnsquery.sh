#!/usr/bin/env bash
# dnsquery.sh SERVER NAME: one DNS A query over UDP with bash alone (no dig on
# a bare machine); prints the first answer's IPv4 address, fails on no answer
# within 2 seconds, an error rcode or no A record.
set -euo pipefail
server=$1 name=$2
q='\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00'
IFS=. read -ra labels <<<"$name"
for l in "${labels[@]}"; do q+=$(printf '\\x%02x' "${#l}")$l; done
q+='\x00\x00\x01\x00\x01'
exec 3<>"/dev/udp/$server/53"
# One write(2), one datagram: bash's printf flushes at every newline byte (a length of 10).
printf "$q" | dd bs=512 iflag=fullblock count=1 status=none >&3
resp=$(timeout 2 dd bs=512 count=1 <&3 2>/dev/null | od -An -v -tu1 | tr -s ' \n' ' ') || true
exec 3>&-
read -ra b <<<"$resp"
[ "${#b[@]}" -ge 12 ] || exit 1
[ "${b[0]}" = 18 ] && [ "${b[1]}" = 52 ] || exit 1     # our ID
[ $(( b[3] & 15 )) = 0 ] || exit 1                      # rcode NOERROR
[ $(( b[6] * 256 + b[7] )) -ge 1 ] || exit 1            # ancount
# Skip the header and the question, then walk the answers for an A record.
i=12
while [ "${b[$i]}" != 0 ]; do i=$(( i + b[i] + 1 )); done
i=$(( i + 5 ))
for _ in $(seq $(( b[6] * 256 + b[7] ))); do
  if [ $(( b[i] & 192 )) = 192 ]; then i=$(( i + 2 )); else while [ "${b[$i]}" != 0 ]; do i=$(( i + b[i] + 1 )); done; i=$(( i + 1 )); fi
  type=$(( b[i] * 256 + b[i+1] )); rdlen=$(( b[i+8] * 256 + b[i+9] )); i=$(( i + 10 ))
  if [ "$type" = 1 ] && [ "$rdlen" = 4 ]; then echo "${b[i]}.${b[i+1]}.${b[i+2]}.${b[i+3]}"; exit 0; fi
  i=$(( i + rdlen ))
done
exit 1
