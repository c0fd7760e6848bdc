#!/usr/bin/env node
'use strict';
require('../scripts/start.cjs');
