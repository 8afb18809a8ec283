#!/bin/sh
# Prints the RabbitMQ definitions of a deployment (docker-compose.rabbitmq.yml's broker imports them at its
# first start, so no `guest` user is ever created): the virtual host `portal`, and one user per process that
# uses the broker, each with its password from the environment (PORTAL_RABBITMQ_PASSWORD_<USER>, made by
# `portal keys`), no management tag, rights on that virtual host only. PORTAL_RABBITMQ_PREFIX (tests) is put
# before every user name.
set -eu
prefix=${PORTAL_RABBITMQ_PREFIX:-}
vhost=${PORTAL_RABBITMQ_VHOST:-portal}
users=""
permissions=""
for user in identity linking content audit relay scheduler portal; do
    eval "password=\${PORTAL_RABBITMQ_PASSWORD_$(echo "$user" | tr a-z A-Z):?set PORTAL_RABBITMQ_PASSWORD_$user}"
    users="$users${users:+,}{\"name\":\"$prefix$user\",\"password\":\"$password\",\"tags\":[]}"
    permissions="$permissions${permissions:+,}{\"user\":\"$prefix$user\",\"vhost\":\"$vhost\",\"configure\":\".*\",\"write\":\".*\",\"read\":\".*\"}"
done
printf '{"vhosts":[{"name":"%s"}],"users":[%s],"permissions":[%s]}\n' "$vhost" "$users" "$permissions"
