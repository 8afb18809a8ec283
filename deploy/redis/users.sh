#!/bin/sh
# Prints the Redis ACL file of a deployment (docker-compose.yml's redis runs it at start): an ACL user per
# service and platform process, each with its password from the environment (PORTAL_REDIS_PASSWORD_<USER>,
# made by `portal keys`); the default user off. The same users and rules as `portal run`'s embedded Redis
# (services/cli/redis_users.py REDIS_USERS; tests/integration/test_compose.py checks they agree).
set -eu
service='~* &* +@all -@dangerous +info'
echo "user default off resetpass resetkeys resetchannels -@all"
# identity may also rewrite the append-only file once an erasure completes (docs/privacy.md)
echo "user identity on >${PORTAL_REDIS_PASSWORD_IDENTITY:?} $service +bgrewriteaof"
for user in linking content audit relay scheduler portal; do
    eval "password=\${PORTAL_REDIS_PASSWORD_$(echo "$user" | tr a-z A-Z):?set PORTAL_REDIS_PASSWORD_$user}"
    echo "user $user on >$password $service"
done
echo "user gateway on >${PORTAL_REDIS_PASSWORD_GATEWAY:?} ~portal:rl:* ~portal:sessions:* resetchannels +@all -@dangerous"
echo "user web on >${PORTAL_REDIS_PASSWORD_WEB:?} ~portal:nonce:* resetchannels +@all -@dangerous"
echo "user admin on >${PORTAL_REDIS_PASSWORD_ADMIN:?} ~* &* +@all"
