import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Caller } from '../auth/caller';
import { CurrentUser, OptionalAuth, SelfOrAdmin } from '../auth/decorators';
import { RequestId } from '../common/http/request-id';
import { IdParamDto } from '../common/validation/id-param.dto';
import { OPENAPI_TAGS } from '../openapi/openapi';
import { CreateBodyUserSocialAssociationDto } from './dto/create-body-user-social-association.dto';
import { CreateSocialAssociationDto } from './dto/create-social-association.dto';
import { DeleteSocialAssociationDto } from './dto/delete-social-association.dto';
import { DeleteTarget } from './dto/delete-target.decorator';
import { ListSocialAssociationsQueryDto } from './dto/list-social-associations.query.dto';
import { UserExternalProviderDto } from './dto/user-external-provider.dto';
import { SocialAssociationService } from './social-association.service';
import {
  ApiCreateSocialAssociation,
  ApiCreateUserSocialAssociation,
  ApiDeleteSocialAssociation,
  ApiListSocialAssociations,
  ApiListUserSocialAssociations,
} from './user-provider.openapi';

/** SelfCommunity API v2: the social associations ("providers") of a user. Documentation: user-provider.openapi.ts. */
@ApiTags(OPENAPI_TAGS.socialAssociations)
@Controller('api/v2/user')
export class UserProviderController {
  constructor(private readonly socialAssociations: SocialAssociationService) {}

  @Post('provider')
  @SelfOrAdmin()
  @ApiCreateSocialAssociation()
  createSocialAssociation(
    @Body() input: CreateBodyUserSocialAssociationDto,
    @CurrentUser() caller: Caller,
    @RequestId() requestId: string,
  ): Promise<UserExternalProviderDto> {
    return this.socialAssociations.linkForBodyUser(caller, input, requestId);
  }

  @Post(':id/provider')
  @SelfOrAdmin()
  @ApiCreateUserSocialAssociation()
  createUserSocialAssociation(
    @Param() { id }: IdParamDto,
    @Body() input: CreateSocialAssociationDto,
    @CurrentUser() caller: Caller,
    @RequestId() requestId: string,
  ): Promise<UserExternalProviderDto> {
    return this.socialAssociations.link(caller, id, input, requestId);
  }

  @Get('provider')
  @OptionalAuth()
  @ApiListSocialAssociations()
  listSocialAssociations(
    @Query() query: ListSocialAssociationsQueryDto,
    @CurrentUser() caller: Caller | undefined,
  ): Promise<UserExternalProviderDto[]> {
    return this.socialAssociations.listOrResolve(caller, query);
  }

  @Get(':id/provider')
  @OptionalAuth()
  @ApiListUserSocialAssociations()
  listUserSocialAssociations(
    @Param() { id }: IdParamDto,
    @CurrentUser() caller: Caller | undefined,
  ): Promise<UserExternalProviderDto[]> {
    return this.socialAssociations.listForUser(caller, id);
  }

  @Delete(':id/provider')
  @SelfOrAdmin()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiDeleteSocialAssociation()
  deleteSocialAssociation(
    @Param() { id }: IdParamDto,
    @DeleteTarget() target: DeleteSocialAssociationDto,
    @CurrentUser() caller: Caller,
    @RequestId() requestId: string,
  ): Promise<void> {
    return this.socialAssociations.unlink(caller, id, target, requestId);
  }
}
