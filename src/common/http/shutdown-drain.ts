import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../../config/app-config';

/**
 * The drain phase of a graceful shutdown. On a signal, Nest first marks the HTTP
 * adapter as closing (from then on every request gets 503 with Connection: close,
 * see createFastifyAdapter), then runs this hook, and only afterwards closes the
 * listener and the idle connections. Waiting here lets keep-alive clients (and
 * load balancers) see that 503 and move on, instead of having an idle connection
 * closed under a request they are sending. Requests already running go on; the
 * database closes after all of them. `app.close()` without a signal (tests) skips it.
 */
@Injectable()
export class ShutdownDrain implements BeforeApplicationShutdown {
  constructor(private readonly config: AppConfig) {}

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    if (signal && this.config.http.shutdownDrainMs > 0) await sleep(this.config.http.shutdownDrainMs);
  }
}
