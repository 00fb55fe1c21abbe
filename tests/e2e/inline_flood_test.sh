#!/bin/bash
# placeholder
echo placeholder; exit 1
