import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/auth.decorators';
import { MetricsService } from './metrics.service';

@ApiTags('health')
@Public()
@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  // Public, as /healthz is: scrape it from the control plane's own network (docs/operations.md).
  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiProduces('text/plain')
  @ApiOperation({
    summary:
      'Prometheus metrics: jobs by type and state, job durations, queue depth and heartbeat age per host, hosts by state, inventory report lag, HTTP latency, and the process’s own',
  })
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
