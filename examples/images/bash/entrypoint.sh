#!/bin/sh
# Like the bash image's entrypoint: options go to the shell, anything else is run as a command.
case "$1" in
  -*) exec /bin/sh "$@" ;;
  *) exec "$@" ;;
esac
