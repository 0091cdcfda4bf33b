#!/bin/sh
# Hello world for Nuclio's shell runtime: whatever the script prints is the response body,
# and the event's details arrive as NUCLIO_EVENT_* environment variables.
echo "Hello, from Nuclio :]"
echo "You sent a ${NUCLIO_EVENT_METHOD:-?} request to ${NUCLIO_EVENT_PATH:-/}"
