import { Controller, Get, Query, StreamableFile } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/decorators';
import { OPENAPI_TAGS } from '../openapi/openapi';
import {
  ApiCountSocialAssociations,
  ApiExportSocialAssociations,
  ApiSearchSocialAssociations,
} from './association-directory.openapi';
import { AssociationDirectoryService } from './association-directory.service';
import {
  AssociationFilterQueryDto,
  SearchSocialAssociationsQueryDto,
} from './dto/search-social-associations.query.dto';
import { SocialAssociationPageDto, SocialAssociationStatsDto } from './dto/social-association-page.dto';

/** Every association across users, for admin dashboards and migrations. Documentation: association-directory.openapi.ts. */
@ApiTags(OPENAPI_TAGS.socialAssociations)
@Controller('api/v2/social-associations')
@AdminOnly()
export class AssociationDirectoryController {
  constructor(private readonly directory: AssociationDirectoryService) {}

  @Get()
  @ApiSearchSocialAssociations()
  searchSocialAssociations(@Query() query: SearchSocialAssociationsQueryDto): Promise<SocialAssociationPageDto> {
    return this.directory.search(query);
  }

  @Get('stats')
  @ApiCountSocialAssociations()
  countSocialAssociations(): Promise<SocialAssociationStatsDto> {
    return this.directory.countByProvider();
  }

  @Get('export')
  @ApiExportSocialAssociations()
  exportSocialAssociations(@Query() query: AssociationFilterQueryDto): StreamableFile {
    return new StreamableFile(this.directory.startExport(query), { type: 'application/x-ndjson; charset=utf-8' });
  }
}
