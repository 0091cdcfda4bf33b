/**
 * nginx (Debian's `nginx`) as the yardstick of the API gateway: one worker process, a keep-alive upstream
 * pool, in front of the same function the gateway forwards to. It runs in the foreground from a
 * configuration of its own in a temporary folder (`nginxConfig`, pure), on a port of the bench's choice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

/** nginx.conf: one worker, `listen` → `upstream` (host:port) over up to 64 idle keep-alive connections. */
export function nginxConfig(dir: string, listen: string, upstream: string): string {
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream fn { server ${upstream}; keepalive 64; }
  server {
    listen ${listen};
    location / {
      proxy_pass http://fn;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/** Starts nginx in front of `upstream`; the caller kills the process group. */
export function startNginx(dir: string, listen: string, upstream: string): ChildProcess {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(dir, listen, upstream));
  return spawn(NGINX!, ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
}
