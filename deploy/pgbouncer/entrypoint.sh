#!/bin/sh
# The login role's password comes from the environment, never from the image.
set -eu
: "${API_DB_PASSWORD:?set API_DB_PASSWORD, the password of the API's login role}"
umask 077
printf '"authenticator" "%s"\n' "$API_DB_PASSWORD" > /tmp/userlist.txt
exec pgbouncer /etc/pgbouncer/pgbouncer.ini
